import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Node } from '@oiafed/core';
import { shareValue } from '@oiafed/core/internal';
import { serveWebSocket } from '@oiafed/node';
import WebSocket, { WebSocketServer } from 'ws';
import { interleaved, median, type BenchResult, type Sampled } from './harness.js';
import { pairedRatios, spreadOf } from './spread.js';

const FLOATS = 4 * 1024 * 1024; // 16 MiB
const CHUNK = 1024 * 1024;

export interface BroadcastOptions {
  /** Learners, and as many raw sockets. */
  count: number;
  /** Sink processes the learners and raw clients are spread over (each holds count / processes of both). */
  processes: number;
  /** Pairs of samples (raw, ours) at least, whatever the time. */
  minPairs: number;
  /** More pairs are taken while a pair started before this much time (ms) had passed since the first. */
  budgetMs: number;
  /** The clock the budget is read on. */
  now?: () => number;
}

export interface BroadcastOutcome {
  ours: Sampled;
  raw: Sampled;
  /** The trainer process's largest RSS seen while each contender sent (sampled every 100 ms), bytes. */
  peakRss: { ours: number; raw: number };
  /** Its RSS with every learner joined, before the first sample, bytes. */
  joinedRss: number;
  /** CPU seconds per sample of each contender (median), in the trainer and in all sink processes. */
  cpu: { ours: CpuSplit; raw: CpuSplit };
}

export interface CpuSplit {
  trainerUser: number;
  trainerSystem: number;
  sinks: number;
}

/**
 * A 16 MiB model to `count` learners over their own WebSockets (the trainer's acknowledged 'model'
 * event to each), against raw ws sending the same bytes, as the same 1 MiB messages, to as many
 * sockets of the same processes, each client answering once it has them all. Samples interleaved
 * (after one warm-up pair), as many pairs as the time budget takes.
 */
export async function broadcast16m(options: BroadcastOptions): Promise<BroadcastOutcome> {
  const { count, processes } = options;
  const now = options.now ?? (() => performance.now());
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
  const children = Array.from({ length: processes }, (_, p) => {
    const first = Math.floor((count * p) / processes);
    const n = Math.floor((count * (p + 1)) / processes) - first;
    const args = [script, server.url, rawUrl, String(n), String(FLOATS * 4), String(first)];
    return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  });
  const peakRss = { ours: 0, raw: 0 };
  let sending: keyof typeof peakRss | undefined;
  // A measurement, not a wait: nothing waits on this timer.
  const sampler = setInterval(() => {
    if (sending) peakRss[sending] = Math.max(peakRss[sending], process.memoryUsage.rss());
  }, 100);
  try {
    await Promise.all(children.map(ready));
    const data = new Float32Array(FLOATS).map((_, i) => i % 251);
    const model = { w: { shape: [FLOATS], data } };
    const chunks = Array.from(
      { length: (FLOATS * 4) / CHUNK },
      (_, i) => new Uint8Array(data.buffer, i * CHUNK, CHUNK),
    );
    const learners = trainer.registry.connected();
    if (learners.length !== count) throw new Error(`${learners.length} of ${count} learners joined`);
    const joinedRss = process.memoryUsage.rss();
    const cpu = { ours: [] as CpuSplit[], raw: [] as CpuSplit[] };
    const measured = (name: 'ours' | 'raw', op: () => Promise<void>) => async () => {
      sending = name;
      const before = process.cpuUsage();
      const sinksBefore = children.reduce((sum, c) => sum + cpuSeconds(c), 0);
      await op();
      const used = process.cpuUsage(before);
      const sinks = children.reduce((sum, c) => sum + cpuSeconds(c), 0) - sinksBefore;
      cpu[name].push({ trainerUser: used.user / 1e6, trainerSystem: used.system / 1e6, sinks });
    };
    const ops = {
      raw: measured(
        'raw',
        () =>
          new Promise<void>((resolve) => {
            acks = 0;
            allAcked = resolve;
            for (const socket of rawSockets) for (const chunk of chunks) socket.send(chunk);
          }),
      ),
      ours: measured('ours', async () => {
        const release = shareValue(model);
        try {
          await Promise.all(learners.map((id) => trainer.emitWithAck(id, 'model', model)));
        } finally {
          release();
        }
      }),
    };
    await interleaved(ops, { batch: 1, samples: 0, warmup: 1 });
    cpu.ours = [];
    cpu.raw = [];
    const times = { raw: [] as number[], ours: [] as number[] };
    const start = now();
    while (times.raw.length < options.minPairs || now() - start < options.budgetMs) {
      const pair = await interleaved(ops, { batch: 1, samples: 1, warmup: 0 });
      times.raw.push(...pair.raw!.times);
      times.ours.push(...pair.ours!.times);
    }
    const split = (of: CpuSplit[]): CpuSplit => ({
      trainerUser: median(of.map((c) => c.trainerUser)),
      trainerSystem: median(of.map((c) => c.trainerSystem)),
      sinks: median(of.map((c) => c.sinks)),
    });
    return {
      ours: sampled(times.ours),
      raw: sampled(times.raw),
      peakRss,
      joinedRss,
      cpu: { ours: split(cpu.ours), raw: split(cpu.raw) },
    };
  } finally {
    clearInterval(sampler);
    for (const child of children) child.kill();
    for (const socket of rawSockets) socket.terminate();
    await new Promise((resolve) => wss.close(resolve));
    await server.close();
    trainer.close();
  }
}

function sampled(times: number[]): Sampled {
  return { median: median(times), samples: times.length, times };
}

/** User + system CPU seconds a child has used so far (Linux: /proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(child: ChildProcess): number {
  const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`sinks exited with ${code}`)));
  });
}

const MODEL_BYTES = FLOATS * 4;
const mib = (bytes: number) => (bytes / (1024 * 1024)).toFixed(0);

/** Issue #16's ws.broadcast16m.N rows, for each of `counts` learners, and the note on how. */
export async function broadcastFigures(
  runs: Omit<BroadcastOptions, 'now'>[],
): Promise<{ results: BenchResult[]; notes: string[] }> {
  const results: BenchResult[] = [];
  for (const options of runs) {
    const { count } = options;
    const outcome = await broadcast16m(options);
    const gbps = (ns: number) => (MODEL_BYTES * count) / ns;
    // Per interleaved sample: the throughput ratio ours / raw of that pair.
    const ratio = spreadOf(pairedRatios(outcome.raw.times, outcome.ours.times));
    const seconds = (times: number[]) => times.map((ns) => (ns / 1e9).toFixed(1)).join(', ');
    const cpu = (c: CpuSplit) =>
      `CPU per sample (median): trainer ${c.trainerUser.toFixed(2)} s user + ${c.trainerSystem.toFixed(2)} s system, sink processes ${c.sinks.toFixed(2)} s`;
    results.push(
      {
        id: `raw.ws.broadcast16m.${count}`,
        median: gbps(outcome.raw.median),
        unit: 'GB/s',
        samples: outcome.raw.samples,
        note: `16 MiB as 16 messages of 1 MiB to each of ${count} sockets, each answering one byte; samples ${seconds(outcome.raw.times)} s; trainer process peak RSS ${mib(outcome.peakRss.raw)} MiB; ${cpu(outcome.cpu.raw)}`,
      },
      {
        id: `ws.broadcast16m.${count}`,
        median: gbps(outcome.ours.median),
        unit: 'GB/s',
        ratio: ratio.median,
        ratioRange: [ratio.min, ratio.max],
        vs: `raw.ws.broadcast16m.${count}`,
        target: 'throughput ratio >= 0.8',
        met: ratio.median >= 0.8,
        samples: outcome.ours.samples,
        note: `emitWithAck('model', 16 MiB Float32Array) to each learner; ratio = median of the per-sample ratios (IQR ${ratio.q1.toFixed(2)}–${ratio.q3.toFixed(2)}); samples ${seconds(outcome.ours.times)} s; trainer process RSS ${mib(outcome.joinedRss)} MiB with all joined, peak ${mib(outcome.peakRss.ours)} MiB while sending; ${cpu(outcome.cpu.ours)}`,
      },
    );
  }
  const notes = [
    `ws.broadcast16m: raw and ours alternate sample by sample (raw, ours, raw, ours...) after one warm-up pair, as many pairs as fit the run's time budget; each ratio is ours against the raw sample next to it, and the figure is their median with min–max beside it. The learners and the raw clients are spread alike over ${runs.map((r) => `${r.processes} sink processes (${r.count})`).join(', ')}, all of them the same minimal WebSocket client (bench/src/workers/lean-web-socket.mjs: the real handshake and framing, reads into one buffer of the process): with ws's own client, 1,000 sockets in one process spent their time allocating and collecting receive buffers, and set the pace instead of the trainer. The learners put every incoming model in one scratch buffer and check it, and the raw clients put every message in place in the same kind of buffer (as a learner must to have the model whole): the same work per byte on both sides, so that neither side's sinks take more of the two cores from the trainer; the benchmark measures sending, not 1,000 copies of 16 MiB in the learners' processes.`,
  ];
  return { results, notes };
}
