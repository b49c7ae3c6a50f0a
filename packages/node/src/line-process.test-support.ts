import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A real child process whose output is read line by line: tests wait for lines (bounded), never
 * for time to pass. Used for the CLI and for the demo trainer in the end-to-end tests.
 */
export class LineProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];

  constructor(args: string[], options: { cwd: string; verbose?: string; env?: NodeJS.ProcessEnv }) {
    this.#child = spawn(process.execPath, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.env ? { env: options.env } : {}),
    });
    let buffered = '';
    const take = (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) this.#line(line, options.verbose);
    };
    this.#child.stdout!.on('data', take);
    this.#child.stderr!.on('data', take);
    this.exited = new Promise((resolve) => this.#child.once('exit', (code) => resolve(code)));
  }

  /** The first line (seen or to come) matching `test`. */
  async waitFor(test: RegExp, ms = 120_000): Promise<RegExpMatchArray> {
    return (await this.waitForLine((line) => test.test(line), ms, String(test))).match(test)!;
  }

  /** The first line (seen or to come) that passes `test`. */
  waitForLine(test: (line: string) => boolean, ms = 120_000, what = 'the test'): Promise<string> {
    const seen = this.lines.find(test);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no line matching ${what} within ${ms} ms; last lines:\n${this.lines.slice(-40).join('\n')}`,
            ),
          ),
        ms,
      );
      this.#waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
    });
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Like Ctrl-C. */
  interrupt(): void {
    this.#child.kill('SIGINT');
  }

  kill(): void {
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }

  #line(line: string, verbose: string | undefined): void {
    this.lines.push(line);
    if (verbose) console.log(`[${verbose}] ${line}`);
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i]!.test(line)) this.#waiters.splice(i, 1)[0]!.resolve(line);
    }
  }
}
