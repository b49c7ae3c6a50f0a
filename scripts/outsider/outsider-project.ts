import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A fresh npm project in the system's temp folder, outside the workspace, made from the files of
 * `template`: what a user who was handed the tarballs has. Its commands run with an environment
 * cleared of what pnpm, vitest and the workspace add (npm_* settings, NODE_OPTIONS, NODE_ENV,
 * the workspace's node_modules/.bin on PATH), so nothing of the workspace leaks into it.
 */
export class OutsiderProject {
  readonly env: NodeJS.ProcessEnv;
  readonly #template: string;
  #dir: string | undefined;

  constructor(template: string, workspace: string) {
    this.#template = template;
    this.env = outsiderEnv(workspace);
  }

  /** Makes the project's folder (the template's files and a bare package.json). */
  create(): void {
    this.#dir = mkdtempSync(join(tmpdir(), 'oiafed-outsider-'));
    cpSync(this.#template, this.#dir, { recursive: true });
    writeFileSync(
      join(this.#dir, 'package.json'),
      JSON.stringify({ name: 'outsider', private: true, type: 'module' }, null, 2),
    );
  }

  get dir(): string {
    if (this.#dir === undefined) throw new Error('the outsider project is not created yet');
    return this.#dir;
  }

  /** Plain npm: `npm install` from the registry, quietly, its cache first. */
  npmInstall(specs: readonly string[], ms: number): Promise<string> {
    const flags = ['--no-audit', '--no-fund', '--prefer-offline', '--save-exact', '--loglevel=error'];
    return this.npm(['install', ...flags, ...specs], ms);
  }

  npm(args: readonly string[], ms: number): Promise<string> {
    return this.#run('npm', args, ms);
  }

  /** A command the project installed (node_modules/.bin). */
  bin(name: string, args: readonly string[], ms: number): Promise<string> {
    return this.#run(join(this.dir, 'node_modules', '.bin', name), args, ms);
  }

  node(args: readonly string[], ms: number): Promise<string> {
    return this.#run(process.execPath, args, ms);
  }

  /** Removes the folder and all it holds (a no-op before create). */
  remove(): void {
    if (this.#dir !== undefined) rmSync(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }

  async #run(command: string, args: readonly string[], ms: number): Promise<string> {
    try {
      const { stdout } = await run(command, args, {
        cwd: this.dir,
        env: this.env,
        timeout: ms,
        killSignal: 'SIGKILL',
        maxBuffer: 16 << 20,
      });
      return stdout;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      const output = `${stdout}${stderr}`.trim().split('\n').slice(-30).join('\n');
      throw new Error(`${command} ${args.join(' ')} failed in ${this.dir}:\n${output}`, { cause: error });
    }
  }
}

function outsiderEnv(workspace: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_|PNPM_|VITEST|NODE_OPTIONS$|NODE_ENV$|TSX_)/i.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((entry) => !entry.startsWith(workspace))
    .join(delimiter);
  return env;
}
