import { spawn } from 'node:child_process';

export interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <args>` in `cwd` to its end and gives its exit code and its stdout and stderr apart
 * (what a user's terminal shows of a failure). Bounded: after `ms` it is killed and the promise
 * rejects with what it had printed.
 */
export function runToExit(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; ms?: number },
): Promise<Exited> {
  const child = spawn(process.execPath, args, {
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `node ${args.join(' ')} did not exit within ${options.ms ?? 60_000} ms; stderr:\n${stderr}`,
        ),
      );
    }, options.ms ?? 60_000);
    // 'close', not 'exit': by then both pipes have been read to their end.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
