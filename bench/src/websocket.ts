import { spawn } from 'node:child_process';
import { Federation, Node } from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import { serveWebSocket } from '@oiafed/node';
import { Server as SocketIoServer } from 'socket.io';
import { io as socketIoClient } from 'socket.io-client';
import WebSocket, { WebSocketServer } from 'ws';
import { interleaved, median, writeSuite, type BenchResult } from './harness.js';

const FLOATS = 4 * 1024 * 1024; // 16 MiB

/** Raw ws: the server sends a small message and the client echoes it; the client uploads bytes and the server acks. */
async function raw() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', maxPayload: 64 * 1024 * 1024 });
  await new Promise((r) => wss.once('listening', r));
  const connected = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
  client.on('message', (data: Buffer) => (data.length > 8 ? undefined : client.send(data)));
  const server = await connected;
  let resolve: () => void = () => undefined;
  server.on('message', (data: Buffer) => (data.length > 8 ? server.send(Buffer.from([1])) : resolve()));
  client.on('message', (data: Buffer) => data.length === 1 && data[0] === 1 && uploaded());
  let uploaded: () => void = () => undefined;
  const upload = new Float32Array(FLOATS);
  const small = Buffer.from([1, 2, 3]);
  return {
    small: () =>
      new Promise<void>((r) => {
        resolve = r;
        server.send(small);
      }),
    upload: () =>
      new Promise<void>((r) => {
        uploaded = r;
        client.send(upload);
      }),
    close: () => (client.close(), new Promise((r) => wss.close(r))),
  };
}

async function ours() {
  const trainer = new Node({ id: 'trainer', role: 'trainer', timeout: 0 });
  trainer.handle('upload', (w: Float32Array) => w.length);
  const server = await serveWebSocket(trainer, { port: 0 });
  const learner = new Node({ id: 'learner', role: 'learner', timeout: 0 });
  learner.handle('add', (a: number, b: number) => a + b);
  await learner.connect(await connectWebSocket(server.url, { WebSocket }));
  const upload = new Float32Array(FLOATS);
  return {
    small: () => trainer.call('learner', 'add', [1, 2]),
    upload: () => learner.call('trainer', 'upload', [upload]),
    close: async () => {
      learner.close();
      trainer.close();
      await server.close();
    },
  };
}

async function socketIo() {
  const io = new SocketIoServer({ maxHttpBufferSize: 64 * 1024 * 1024 });
  io.listen(0);
  const port = (io.httpServer.address() as { port: number }).port;
  const connected = new Promise<import('socket.io').Socket>((r) => io.once('connection', r));
  const client = socketIoClient(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  client.on('add', (a: number, b: number, ack: (sum: number) => void) => ack(a + b));
  const server = await connected;
  return {
    small: () => server.emitWithAck('add', 1, 2),
    close: () => {
      client.close();
      return new Promise((r) => {
        void io.close(r);
      });
    },
  };
}

/** 1,000 learners in a child process, each on its own WebSocket with heartbeats on; one FedAvg round. */
async function thousandClients(quick: boolean): Promise<BenchResult[]> {
  const count = quick ? 200 : 1_000;
  const interval = 1_000;
  const gc = (globalThis as { gc?: () => void }).gc;
  const trainer = new Node({
    id: 'trainer',
    role: 'trainer',
    heartbeat: { interval, timeout: interval * 3 },
    timeout: 0,
  });
  const server = await serveWebSocket(trainer, { port: 0 });
  const live = () => {
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const before = live();
  let missed = 0;
  trainer.events.on('CLIENT_DISCONNECTED', () => missed++);
  const script = new URL('./workers/ws-learners.mjs', import.meta.url);
  const child = spawn(process.execPath, [script.pathname, server.url, String(count), String(interval)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`learners exited with ${code}`)));
  });
  const perClient = (live() - before) / count;
  // One run of several rounds: a run that completes tells its learners so, and they leave.
  const runs: number[] = [];
  const federation = new Federation({
    node: trainer,
    rounds: quick ? 2 : 3,
    minClients: count,
    initialWeights: { w: { shape: [10], data: new Float32Array(10) } },
  });
  federation.events.on('ROUND_FINISHED', (summary) => {
    if (summary.results !== count) throw new Error(`round had ${summary.results} of ${count} results`);
    runs.push(summary.timings.totalMs);
  });
  await federation.start();
  const rttSeen = trainer.registry.connected().filter((id) => trainer.rtt(id) !== undefined).length;
  const missedDuringRun = missed; // shutting down below disconnects everyone: not a miss
  child.kill();
  await server.close();
  trainer.close();
  return [
    {
      id: 'ws.clients.1000',
      median: median(runs),
      unit: 'ms per FedAvg round',
      samples: runs.length,
      note: `${count} learners (another process), heartbeat ${interval} ms; ${rttSeen} had answered pings; heartbeats missed: ${missedDuringRun}`,
    },
    {
      id: 'ws.clients.1000.trainer_memory',
      median: perClient / 1024,
      unit: 'KiB per client',
      note: 'trainer process heap + external after all joined, minus before, per client',
    },
    {
      id: 'ws.clients.1000.heartbeat_missed',
      median: missedDuringRun,
      unit: 'clients declared dead',
      target: '0',
      met: missedDuringRun === 0,
    },
  ];
}

export async function websocketSuite(quick: boolean): Promise<void> {
  const r = await raw();
  const o = await ours();
  const s = await socketIo();
  const small = await interleaved(
    { raw: r.small, ours: o.small, socketio: s.small },
    { batch: quick ? 300 : 2_000, samples: quick ? 5 : 41, warmup: 3 },
  );
  const upload = await interleaved(
    { raw: r.upload, ours: o.upload },
    { batch: quick ? 3 : 10, samples: quick ? 3 : 15, warmup: 2 },
  );
  await Promise.all([r.close(), o.close(), s.close()]);
  const us = (ns: number) => ns / 1000;
  const gbps = (ns: number) => (FLOATS * 4) / ns;
  const callRatio = small.ours!.median / small.raw!.median;
  const vsIo = small.ours!.median / small.socketio!.median;
  const uploadRatio = gbps(upload.ours!.median) / gbps(upload.raw!.median);
  writeSuite(
    'websocket',
    [
      {
        id: 'raw.ws.small',
        median: us(small.raw!.median),
        unit: 'us',
        samples: small.raw!.samples,
        note: 'ws server sends 3 bytes, the client echoes them',
      },
      {
        id: 'ws.call.small',
        median: us(small.ours!.median),
        unit: 'us',
        ratio: callRatio,
        vs: 'raw.ws.small',
        target: 'ratio <= 1.3',
        met: callRatio <= 1.3,
        samples: small.ours!.samples,
      },
      {
        id: 'socketio.emitWithAck.small',
        median: us(small.socketio!.median),
        unit: 'us',
        ratio: small.socketio!.median / small.raw!.median,
        vs: 'raw.ws.small',
      },
      {
        id: 'ws.call.small.vs.socketio',
        median: us(small.ours!.median),
        unit: 'us',
        ratio: vsIo,
        vs: 'socketio.emitWithAck.small',
        target: 'ratio <= 1.0',
        met: vsIo <= 1.0,
      },
      {
        id: 'raw.ws.upload16m',
        median: gbps(upload.raw!.median),
        unit: 'GB/s',
        samples: upload.raw!.samples,
        note: '16 MiB from client to server, server acks',
      },
      {
        id: 'ws.upload16m',
        median: gbps(upload.ours!.median),
        unit: 'GB/s',
        ratio: uploadRatio,
        vs: 'raw.ws.upload16m',
        target: 'throughput ratio >= 0.8',
        met: uploadRatio >= 0.8,
        samples: upload.ours!.samples,
      },
      ...(await thousandClients(quick)),
    ],
    [
      'Loopback. ws.call.small: trainer.call(learner, add) over our WebSocket link; socket.io: server emitWithAck to the client, websocket transport only.',
      'ws.upload16m: learner.call(trainer, upload, [Float32Array of 16 MiB]) through the RPC, against raw ws sending the same bytes. The server announces its maxPayload (default 32 MiB), so the array travels as one message beside its call frame and reaches the handler without a copy.',
    ],
  );
}
