import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LineProcess } from '../../packages/node/src/line-process.test-support.js';
import { parseDemoArgs } from './demo-args.js';

const demoDir = fileURLToPath(new URL('..', import.meta.url));

describe("the demo's command line", () => {
  it('reads the flags of its table, and says in one line what is wrong with others', () => {
    expect(parseDemoArgs(['--clients', '100', '--fraction', '0.1', '--iid'])).toEqual({
      values: { clients: '100', fraction: '0.1', iid: true },
    });
    expect(parseDemoArgs(['--clientz', '3'])).toEqual({
      error: "Unknown option '--clientz' (npm run demo -- --help lists the options)",
    });
    expect(parseDemoArgs(['--clients'])).toEqual({
      error: "Option '--clients <value>' argument missing (npm run demo -- --help lists the options)",
    });
    expect(parseDemoArgs(['memory'])).toMatchObject({ error: /^Unexpected argument 'memory'/ });
  });

  it('exits 2 with one line on an unknown flag, before loading any data', async () => {
    const demo = new LineProcess(['--import', 'tsx', '--conditions=source', 'src/cli.ts', '--nope'], {
      cwd: demoDir,
    });
    expect(await demo.exited).toBe(2);
    expect(demo.lines.filter((line) => line !== '')).toEqual([
      "demo: Unknown option '--nope' (npm run demo -- --help lists the options)",
    ]);
  }, 60_000);
});
