import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runToExit } from './exited-process.test-support.js';
import { takenPort } from './ports.test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'oiafed-cli-failures-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

const oiafed = (args: string[], env: Record<string, string> = {}) =>
  runToExit(['--import', 'tsx', '--conditions=source', 'cli.ts', ...args], { cwd: here, env });

// Each test starts real processes (tsx, and for the demo tfjs): seconds each on a busy machine.
describe(
  'oiafed: failures are one clear line on stderr and a non-zero exit code',
  { timeout: 120_000 },
  () => {
    it('a run that fails (its port is taken): one line naming the cause, exit code 1; OIAFED_DEBUG=1 adds the stack', async () => {
      const { port, server } = await takenPort();
      try {
        const config = join(dir, 'taken.yaml');
        await writeFile(config, `transport: { mode: websocket, port: ${port} }\n`);
        const plain = await oiafed(['serve', config]);
        expect(plain.code).toBe(1);
        expect(plain.stderr).toBe(`oiafed: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);

        const debug = await oiafed(['serve', config], { OIAFED_DEBUG: '1' });
        expect(debug.code).toBe(1);
        const [line, ...stack] = debug.stderr.split('\n');
        expect(line).toBe(`oiafed: listen EADDRINUSE: address already in use 127.0.0.1:${port}`);
        expect(stack.join('\n')).toMatch(/\n\s+at .*\n[\s\S]*code: 'EADDRINUSE'/);
      } finally {
        server.close();
      }
    });

    it('a config file that is not there: one line naming it, exit code 2 (a usage error)', async () => {
      const missing = join(dir, 'missing.yaml');
      const { code, stderr } = await oiafed(['serve', missing]);
      expect(code).toBe(2);
      expect(stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(stderr).toMatch(/^oiafed: .*missing\.yaml/);
    });

    it('no command: one line saying how to call it, exit code 2', async () => {
      const { code, stderr } = await oiafed([]);
      expect(code).toBe(2);
      expect(stderr.split('\n').filter(Boolean)).toEqual(['oiafed: no command: oiafed serve <config.yaml>']);
    });
  },
);
