import { spawn, type ChildProcess } from 'node:child_process';

/**
 * A real child process whose output is read line by line: tests wait for lines (bounded), never
 * for time to pass. Used for the CLI and for the demo trainer in the end-to-end tests.
 */
export class LineProcess {
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #child: ChildProcess;
  readonly #waiters: { test: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];

  constructor(args: string[], options: { cwd: string; verbose?: string }) {
    this.#child = spawn(process.execPath, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
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
  waitFor(test: RegExp, ms = 120_000): Promise<RegExpMatchArray> {
    for (const line of this.lines) {
      const m = line.match(test);
      if (m) return Promise.resolve(m);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${test} within ${ms} ms; output:\n${this.lines.join('\n')}`)), ms);
      this.#waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
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
      const m = line.match(this.#waiters[i]!.test);
      if (m) this.#waiters.splice(i, 1)[0]!.resolve(m);
    }
  }
}
