import { spawn } from 'node:child_process';
import { Node } from '@oiafed/core';
import { shareValue } from '@oiafed/core/internal';
import { serveWebSocket } from '@oiafed/node';
import WebSocket, { WebSocketServer } from 'ws';
import { interleaved, type Sampled } from './harness.js';

const FLOATS = 4 * 1024 * 1024; // 16 MiB
const CHUNK = 1024 * 1024;

/**
 * A 16 MiB model to `count` learners over their own WebSockets (the trainer's acknowledged 'model'
 * event to each), against raw ws sending the same bytes, as the same 1 MiB messages, to as many
 * sockets of the same process, each client answering once it has them all. Samples interleaved.
 */
export async function broadcast16m(count: number, samples: number): Promise<{ ours: Sampled; raw: Sampled }> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, timeout: 0 });
  const server = await serveWebSocket(trainer, { port: 0, limits: { maxConnections: count + 100 } });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const rawSockets: WebSocket[] = [];
  let acks = 0;
  let allAcked: () => void = () => undefined;
  wss.on('connection', (socket: WebSocket) => {
    rawSockets.push(socket);
    socket.on('message', () => ++acks === count && allAcked());
  });
  const script = new URL('./workers/ws-model-sinks.mjs', import.meta.url).pathname;
  const rawUrl = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const child = spawn(process.execPath, [script, server.url, rawUrl, String(count), String(FLOATS * 4)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`sinks exited with ${code}`)));
    });
    const data = new Float32Array(FLOATS).map((_, i) => i % 251);
    const model = { w: { shape: [FLOATS], data } };
    const chunks = Array.from(
      { length: (FLOATS * 4) / CHUNK },
      (_, i) => new Uint8Array(data.buffer, i * CHUNK, CHUNK),
    );
    const learners = trainer.registry.connected();
    if (learners.length !== count) throw new Error(`${learners.length} of ${count} learners joined`);
    const times = await interleaved(
      {
        raw: () =>
          new Promise<void>((resolve) => {
            acks = 0;
            allAcked = resolve;
            for (const socket of rawSockets) for (const chunk of chunks) socket.send(chunk);
          }),
        ours: async () => {
          const release = shareValue(model);
          try {
            await Promise.all(learners.map((id) => trainer.emitWithAck(id, 'model', model)));
          } finally {
            release();
          }
        },
      },
      { batch: 1, samples, warmup: 1 },
    );
    return { ours: times.ours!, raw: times.raw! };
  } finally {
    child.kill();
    for (const socket of rawSockets) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await server.close();
    trainer.close();
  }
}
