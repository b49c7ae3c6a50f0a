import { spawn, type ChildProcess } from 'node:child_process';
import { Federation, Node } from '@oiafed/core';
import { serveWebSocket } from '@oiafed/node';
import { WebSocketServer } from 'ws';
import { grownPerClient, heapByKind } from './heap-breakdown.js';

export interface ManyClientsOptions {
  count: number;
  /** Learner processes; each holds count / swarms learners on their own sockets. */
  swarms: number;
  /** Heartbeat interval, ms (timeout three times that), on both ends. */
  interval: number;
  rounds: number;
  /** Also break the trainer's per-client heap down by structure (a heap snapshot: slow). */
  breakdown?: boolean;
}

export interface ManyClientsOutcome {
  roundMs: number[];
  /** Trainer heap + external after all joined, minus before, per client, bytes. */
  perClient: number;
  /** Trainer RSS after all joined, minus before, per client, bytes (sockets' native memory included). */
  rssPerClient: number;
  missed: number;
  joinMs: number;
  rttSeen: number;
  breakdown?: { name: string; perClient: number; bytesPerClient: number }[];
}

const live = () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed + m.external, rss: m.rss };
};

/**
 * Starts `swarms` learner processes holding `count` learners between them (ids 0..count-1), each
 * joining `url` (a comma-separated list: learner i joins the (i mod n)th); resolves once every
 * learner in them has joined.
 */
export async function startSwarms(
  url: string,
  options: Pick<ManyClientsOptions, 'count' | 'swarms' | 'interval'>,
): Promise<ChildProcess[]> {
  const script = new URL('./workers/ws-learners.mjs', import.meta.url).pathname;
  const each = Math.ceil(options.count / options.swarms);
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  for (let s = 0; s < options.swarms; s++) {
    const first = s * each;
    const n = Math.min(each, options.count - first);
    const child = spawn(
      process.execPath,
      [
        ...(process.env.OIAFED_SWARM_NODE_ARGS?.split(' ') ?? []),
        script,
        url,
        String(n),
        String(options.interval),
        String(first),
        '25',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    ready.push(
      new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`learners ${first}.. exited with ${code}`)));
      }),
    );
  }
  await Promise.all(ready);
  return children;
}

/**
 * `count` learners in other processes, each on its own WebSocket with heartbeats on, against one
 * trainer in this process; the trainer's memory per client once all joined, then a run of
 * `rounds` FedAvg rounds on a 10-float model, and the heartbeats missed meanwhile.
 */
export async function manyClients(options: ManyClientsOptions): Promise<ManyClientsOutcome> {
  const { count, interval } = options;
  const trainer = new Node({
    id: 'trainer',
    role: 'trainer',
    heartbeat: { interval, timeout: interval * 3 },
    timeout: 0,
  });
  const server = await serveWebSocket(trainer, { port: 0, limits: { maxConnections: count + 100 } });
  const kindsBefore = options.breakdown ? heapByKind() : undefined;
  const before = live();
  let missed = 0;
  trainer.events.on('CLIENT_DISCONNECTED', () => missed++);
  const t0 = Date.now();
  const children = await startSwarms(server.url, options);
  const joinMs = Date.now() - t0;
  const after = live();
  const breakdown = kindsBefore ? grownPerClient(kindsBefore, heapByKind(), count) : undefined;
  const roundMs: number[] = [];
  const federation = new Federation({
    node: trainer,
    rounds: options.rounds,
    minClients: count,
    initialWeights: { w: { shape: [10], data: new Float32Array(10) } },
  });
  federation.events.on('ROUND_FINISHED', (summary) => {
    if (summary.results !== count) throw new Error(`round had ${summary.results} of ${count} results`);
    roundMs.push(summary.timings.totalMs);
  });
  try {
    await federation.start();
  } finally {
    for (const child of children) child.kill();
  }
  const rttSeen = trainer.registry.connected().filter((id) => trainer.rtt(id) !== undefined).length;
  const missedDuringRun = missed; // shutting down below disconnects everyone: not a miss
  await server.close();
  trainer.close();
  return {
    roundMs,
    perClient: (after.heap - before.heap) / count,
    rssPerClient: (after.rss - before.rss) / count,
    missed: missedDuringRun,
    joinMs,
    rttSeen,
    ...(breakdown ? { breakdown } : {}),
  };
}

/**
 * The same measure for a plain ws server holding `count` sockets from `swarms` processes (the
 * baseline of what a connection costs before oiafed adds its own), bytes per socket.
 */
export async function rawSocketMemory(count: number, swarms: number): Promise<number> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const url = `ws://127.0.0.1:${(wss.address() as { port: number }).port}`;
  const before = live();
  const script = new URL('./workers/ws-raw-clients.mjs', import.meta.url).pathname;
  const each = Math.ceil(count / swarms);
  const children = Array.from({ length: swarms }, (_, s) =>
    spawn(process.execPath, [script, url, String(Math.min(each, count - s * each))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  try {
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
            child.once('exit', (code) => reject(new Error(`raw clients exited with ${code}`)));
          }),
      ),
    );
    if (wss.clients.size !== count) throw new Error(`${wss.clients.size} of ${count} raw sockets open`);
    return (live().heap - before.heap) / count;
  } finally {
    for (const child of children) child.kill();
    for (const socket of wss.clients) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
}
