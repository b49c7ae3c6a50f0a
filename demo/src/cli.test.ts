import { createServer, type Server } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runToExit } from '../../packages/node/src/exited-process.test-support.js';

const demoDir = fileURLToPath(new URL('..', import.meta.url));
const demo = (args: string[], env: Record<string, string> = {}) =>
  runToExit(['--import', 'tsx', '--conditions=source', 'src/cli.ts', ...args], {
    cwd: demoDir,
    env,
    ms: 120_000,
  });

async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('the demo CLI fails cleanly', () => {
  it('a run that fails after the wasm backend started (its port is taken): one stderr line under 1,000 characters, exit code 1, no dependency source', async () => {
    const { port, server } = await takenPort();
    try {
      const args = ['--mode', 'websocket', '--port', String(port), '--clients', '1', '--backend', 'wasm'];
      const { code, stderr, stdout } = await demo(args);
      expect(stdout).toMatch(/mode websocket/); // it got as far as the run, past the backend's start
      expect(code).toBe(1);
      expect(stderr.length).toBeLessThan(1_000);
      expect(stderr).toBe(`demo: listen EADDRINUSE: address already in use 127.0.0.1:${port}\n`);

      const debug = await demo(args, { OIAFED_DEBUG: '1' });
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^demo: listen EADDRINUSE.*\n[\s\S]*\n\s+at /);
      expect(debug.stderr).not.toMatch(/WasmBackendModule/); // the stack, not tfjs's module
    } finally {
      server.close();
    }
  }, 240_000);

  it('an unknown option: one line saying so, the usage, exit code 2', async () => {
    const { code, stderr } = await demo(['--no-such-option']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^demo: Unknown option '--no-such-option'/);
  });
});
