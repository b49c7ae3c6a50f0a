import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The commands `oiafed` runs. */
export const OIAFED_COMMANDS = ['serve'] as const;

/**
 * Every flag `oiafed` takes, in one table that `parseArgs` and the README checker
 * (scripts/readme) both read, so the README names no flag the command refuses.
 */
export const OIAFED_OPTIONS = {
  help: { type: 'boolean', short: 'h' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

/** What `oiafed ...` was asked: help, a command with its config file, or the line that says what is wrong. */
export type OiafedArgs =
  { kind: 'help' } | { kind: 'serve'; file: string } | { kind: 'error'; message: string };

export function parseOiafedArgs(argv: readonly string[]): OiafedArgs {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OIAFED_OPTIONS, allowPositionals: true });
  } catch (error) {
    // parseArgs' first sentence names the flag; the rest is about positional arguments.
    return { kind: 'error', message: `${(error as Error).message.split('. ')[0]!} (oiafed --help)` };
  }
  if (parsed.values.help) return { kind: 'help' };
  const [command, file, ...extra] = parsed.positionals;
  if (command === undefined) return { kind: 'error', message: 'no command: oiafed serve <config.yaml>' };
  if (command !== 'serve') return { kind: 'error', message: `unknown command ${command} (oiafed --help)` };
  if (file === undefined)
    return { kind: 'error', message: 'oiafed serve needs a config file: oiafed serve <config.yaml>' };
  if (extra.length) return { kind: 'error', message: `unexpected argument ${extra[0]!} (oiafed --help)` };
  return { kind: 'serve', file };
}
