import { inspect } from 'node:util';
import { boundedText } from '@oiafed/core';

/** Longest failure line a command prints: a message, not a dump. */
const MAX_FAILURE_LINE = 900;

/**
 * The one line a failure prints: `name: message`, control characters escaped (it stays one line),
 * cut to a few hundred characters (a ConnectError's message names its cause, and its hint).
 */
export function failureLine(name: string, error: unknown): string {
  const message = error instanceof Error ? error.message : error;
  return `${name}: ${boundedText(message, MAX_FAILURE_LINE - name.length - 2)}`;
}

export interface RunCommandOptions {
  /** Where the line goes. Default: the process's stderr. */
  stderr?: { write(text: string): unknown };
  /** `OIAFED_DEBUG=1` there adds the stack (and causes) after the line. Default: the process's environment. */
  env?: Record<string, string | undefined>;
}

/**
 * Runs a command's `main` as oiafed's commands end: what it returns is the exit code (set on
 * `process.exitCode`, and returned). A failure, thrown by `main` or uncaught anywhere while the
 * process runs (an exception in a listener, a rejection nobody handled), prints one line on stderr,
 * `name: message`, and exits 1: never a stack, nor the source line a dependency threw from (which
 * for a minified module is tens of KB). `OIAFED_DEBUG=1` prints the stack and causes as well.
 */
export async function runCommand(
  name: string,
  main: () => Promise<number>,
  options: RunCommandOptions = {},
): Promise<number> {
  const stderr = options.stderr ?? process.stderr;
  const debug = (options.env ?? process.env).OIAFED_DEBUG === '1';
  const fail = (error: unknown): never => {
    // Writes to a pipe or file are synchronous in Node on Linux and macOS: the line is out before the exit.
    stderr.write(`${failureLine(name, error)}\n`);
    if (debug) stderr.write(`${inspect(error, { depth: 4 })}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fail).on('unhandledRejection', fail);
  let code: number;
  try {
    code = await main();
  } catch (error) {
    return fail(error);
  }
  process.exitCode = code;
  return code;
}
