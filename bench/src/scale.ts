import { readFileSync } from 'node:fs';
import { writeSuite, type BenchResult } from './harness.js';
import { broadcast16m } from './scale-broadcast.js';
import { manyClients, rawSocketMemory } from './scale-clients.js';
import { hierFigures, type HierOptions } from './scale-hier.js';
import { spreadOf, pairedRatios } from './spread.js';

const MODEL_BYTES = 16 * 1024 * 1024;

/**
 * Suite `scale`: one trainer process against thousands of WebSocket learners in other processes
 * (round time, memory per client, missed heartbeats), and a 16 MiB model broadcast to a thousand
 * of them against raw ws.
 */
export async function scaleSuite(quick: boolean): Promise<void> {
  const count = quick ? 1_000 : 10_000;
  const interval = quick ? 1_000 : 5_000;
  const swarms = quick ? 2 : 4;
  const hierOptions: HierOptions = {
    count,
    aggregators: 8,
    swarms,
    interval,
    rounds: 3,
    pairs: quick ? 2 : 3,
  };
  // OIAFED_SCALE_ONLY=hier: only the hierarchy figures, put in place of the last run's in scale.json.
  if (process.env.OIAFED_SCALE_ONLY === 'hier') return hierOnly(hierOptions);
  const rawMemory = await rawSocketMemory(count, swarms);
  const clients = await manyClients({ count, swarms, interval, rounds: quick ? 2 : 3 });
  // 1,000 sinks move 16 GB per sample through loopback: more than this shared machine carries in
  // the time a run has (0.07 GB/s measured under load), so the full run uses 100.
  const sinks = quick ? 50 : 100;
  const broadcast = await broadcast16m(sinks, quick ? 3 : 4);
  const hier = await hierFigures(hierOptions);
  const gbps = (ns: number) => (MODEL_BYTES * sinks) / ns;
  // Per interleaved sample: the throughput ratio ours / raw of that pair.
  const throughput = pairedRatios(broadcast.raw.times, broadcast.ours.times);
  const ratio = spreadOf(throughput);
  const rounds = spreadOf(clients.roundMs);
  const perClientKiB = clients.perClient / 1024;
  const results: BenchResult[] = [
    {
      id: `ws.clients.${count}`,
      median: rounds.median,
      unit: 'ms per FedAvg round',
      samples: clients.roundMs.length,
      note: `rounds ${clients.roundMs.join(', ')} ms; ${count} learners in ${swarms} processes, heartbeat ${interval} ms (timeout ${3 * interval}); all joined in ${(clients.joinMs / 1000).toFixed(0)} s; ${clients.rttSeen} had answered pings`,
    },
    {
      id: `raw.ws.clients.${count}.memory`,
      median: rawMemory / 1024,
      unit: 'KiB per socket',
      note: 'a plain ws server holding as many sockets (perMessageDeflate off), same measure',
    },
    {
      id: `ws.clients.${count}.trainer_memory`,
      median: perClientKiB,
      unit: 'KiB per client',
      ratio: clients.perClient / rawMemory,
      vs: `raw.ws.clients.${count}.memory`,
      target: '<= 8 KiB',
      met: perClientKiB <= 8,
      note: `heap + external after all joined, minus before, per client (process RSS grew ${(clients.rssPerClient / 1024).toFixed(1)} KiB per client)`,
    },
    {
      id: `ws.clients.${count}.heartbeat_missed`,
      median: clients.missed,
      unit: 'clients declared dead',
      target: '0',
      met: clients.missed === 0,
    },
    {
      id: `raw.ws.broadcast16m.${sinks}`,
      median: gbps(broadcast.raw.median),
      unit: 'GB/s',
      samples: broadcast.raw.samples,
      note: `16 MiB as 16 messages of 1 MiB to each of ${sinks} sockets, each answering one byte`,
    },
    {
      id: `ws.broadcast16m.${sinks}`,
      median: gbps(broadcast.ours.median),
      unit: 'GB/s',
      ratio: ratio.median,
      ratioRange: [ratio.min, ratio.max],
      vs: `raw.ws.broadcast16m.${sinks}`,
      target: 'throughput ratio >= 0.8',
      met: ratio.median >= 0.8,
      samples: broadcast.ours.samples,
      note: `emitWithAck('model', 16 MiB Float32Array) to each learner; ratio = median of the per-sample ratios (IQR ${ratio.q1.toFixed(2)}–${ratio.q3.toFixed(2)})`,
    },
    ...hier.results,
  ];
  writeSuite('scale', results, [
    `Loopback, one trainer process; learners in ${swarms} other Node processes, each learner a joinFederation on its own WebSocket. The machine has 2 cores shared with other work: round times are wall-clock and move with its load; the memory figure does not.`,
    'Memory per client: the trainer process after two forced collections, heap used + external, with every learner joined, minus the same before any joined, over the number of learners. The raw ws figure is the same measure for a plain ws server holding as many sockets from the same kind of processes.',
    ...hier.notes,
    "ws.broadcast16m: raw and ours alternate sample by sample (raw, ours, raw, ours...); each ratio is ours against the raw sample next to it, and the figure is their median with min–max beside it. The learners put every incoming model in one scratch buffer (the benchmark measures sending, not 1,000 copies of 16 MiB in the learners' process).",
  ]);
}

const OTHERS = 'Figures other than hier.* are from the run of ';

/** The hierarchy figures alone, replacing those of the last scale.json and keeping its others. */
async function hierOnly(options: HierOptions): Promise<void> {
  const file = new URL('../results/scale.json', import.meta.url);
  const last = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    results: BenchResult[];
    notes: string[];
  };
  const hier = await hierFigures(options);
  const ours = (text: string) => text.startsWith('hier.');
  // The other figures' date: that of the run that measured them, kept across hier-only runs.
  const since =
    last.notes
      .find((n) => n.startsWith(OTHERS))
      ?.slice(OTHERS.length)
      .split(';')[0] ?? last.date;
  writeSuite(
    'scale',
    [...last.results.filter((r) => !ours(r.id)), ...hier.results],
    [
      ...last.notes.filter((n) => !ours(n) && !n.startsWith(OTHERS)),
      ...hier.notes,
      `${OTHERS}${since}; hier.* were measured on their own (OIAFED_SCALE_ONLY=hier) on the date above.`,
    ],
  );
}
