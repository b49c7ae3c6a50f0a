import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { withTimeout } from '../../core/src/test-support.js';
import { LineProcess } from './line-process.test-support.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const dir = await mkdtemp(join(tmpdir(), 'oiafed-cli-budgets-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

const closeOf = (socket: WebSocket) =>
  withTimeout(
    new Promise<number>((resolve) => socket.on('close', (code) => resolve(code))),
    5_000,
    'not closed',
  );

describe('oiafed serve: the security budgets of its config', () => {
  it('applies security.maxConnections, upgradeTimeout and helloBytes to its WebSocket server', async () => {
    const port = await freePort();
    const config = join(dir, 'budgets.yaml');
    await writeFile(
      config,
      [
        `transport: { mode: websocket, port: ${port} }`,
        'security: { maxConnections: 2, upgradeTimeout: 300, helloBytes: 1024 }',
        'federation: { rounds: 1, minClients: 1 }',
        '',
      ].join('\n'),
    );
    const run = new LineProcess(['--import', 'tsx', '--conditions=source', 'cli.ts', 'serve', config], {
      cwd: here,
    });
    const sockets: WebSocket[] = [];
    try {
      await run.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+/);
      const url = `ws://127.0.0.1:${port}`;
      const open = (socket: WebSocket) =>
        withTimeout(
          new Promise<void>(
            (resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)),
          ),
          5_000,
          'not open',
        );
      // A stranger's message over helloBytes: refused by ws itself (1009).
      const large = new WebSocket(url);
      sockets.push(large);
      await open(large);
      const largeClosed = closeOf(large);
      large.send(new Uint8Array(2048));
      expect(await largeClosed).toBe(1009);
      // Two connections are the limit: a third upgrade gets HTTP 503.
      const held = [new WebSocket(url), new WebSocket(url)];
      sockets.push(...held);
      await Promise.all(held.map(open));
      const refused = new WebSocket(url);
      sockets.push(refused);
      refused.on('error', () => undefined);
      const status = await withTimeout(
        new Promise<number>((resolve) =>
          refused.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
        ),
        5_000,
        'no answer',
      );
      expect(status).toBe(503);
      // A TCP connection that never asks to upgrade is ended after upgradeTimeout.
      const silent = connect(port, '127.0.0.1');
      silent.on('error', () => undefined);
      await withTimeout(
        new Promise((resolve) => silent.once('close', resolve)),
        5_000,
        'silent socket kept open',
      );
      expect(await Promise.race([run.exited.then(() => 'exited'), Promise.resolve('serving')])).toBe(
        'serving',
      );
    } finally {
      for (const socket of sockets) socket.terminate();
      run.kill();
    }
  });
});
