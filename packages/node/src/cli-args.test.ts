import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../core/src/test-support.js';
import { OIAFED_OPTIONS, parseOiafedArgs } from './cli-args.js';
import { oiafed } from './cli-process.test-support.js';

describe("oiafed's command line", () => {
  it('reads serve <config>, --help, and says in one line what is wrong with anything else', () => {
    expect(parseOiafedArgs(['serve', 'run.yaml'])).toEqual({ kind: 'serve', file: 'run.yaml' });
    expect(parseOiafedArgs(['--help'])).toEqual({ kind: 'help' });
    expect(parseOiafedArgs(['serve', '-h'])).toEqual({ kind: 'help' });
    expect(parseOiafedArgs(['serve', 'run.yaml', '--verbose'])).toEqual({
      kind: 'error',
      message: "Unknown option '--verbose' (oiafed --help)",
    });
    expect(parseOiafedArgs([])).toEqual({ kind: 'error', message: 'no command: oiafed serve <config.yaml>' });
    expect(parseOiafedArgs(['start', 'run.yaml'])).toEqual({
      kind: 'error',
      message: 'unknown command start (oiafed --help)',
    });
    expect(parseOiafedArgs(['serve'])).toMatchObject({ kind: 'error', message: /needs a config file/ });
    expect(parseOiafedArgs(['serve', 'a.yaml', 'b.yaml'])).toMatchObject({
      kind: 'error',
      message: 'unexpected argument b.yaml (oiafed --help)',
    });
    expect(Object.keys(OIAFED_OPTIONS)).toEqual(['help']);
  });

  it('exits 2 with one line on an unknown flag, and 0 with the usage on --help', async () => {
    const wrong = oiafed('serve', 'run.yaml', '--nope');
    expect(await withTimeout(wrong.exited, 30_000, 'oiafed --nope did not exit')).toBe(2);
    expect(wrong.lines.filter((line) => line !== '')).toEqual([
      "oiafed: Unknown option '--nope' (oiafed --help)",
    ]);
    const help = oiafed('--help');
    expect(await withTimeout(help.exited, 30_000, 'oiafed --help did not exit')).toBe(0);
    expect(help.lines[0]).toBe('usage: oiafed serve <config.yaml>');
  });
});
