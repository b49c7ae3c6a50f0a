import {
  Federation,
  joinInMemory,
  Node,
  WeightedMean,
  type Learner,
  type TrainParams,
  type TrainResult,
  type Weights,
} from '@oiafed/core';
import { seededModel } from './seeded-model.js';
import { interleaved, median, writeSuite, type BenchResult } from './harness.js';

const PARAMS = 4 * 1024 * 1024;
const LAYERS = 4;

/** The benchmark's model for learner `seed`. */
function model(seed: number): Weights {
  return seededModel(seed, PARAMS, LAYERS);
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Aggregation throughput, ours against the raw loop, over the same 100 updates (4 distinct, cycled). */
async function aggregateThroughput(quick: boolean): Promise<BenchResult[]> {
  const updates = [1, 2, 3, 4].map(model);
  const clients = 100;
  const ops = {
    raw: () => {
      const acc = Array.from({ length: LAYERS }, () => new Float32Array(PARAMS / LAYERS));
      for (let c = 0; c < clients; c++) {
        const u = updates[c % updates.length]!;
        for (let l = 0; l < LAYERS; l++) {
          const a = acc[l]!;
          const b = u[`layer${l}`]!.data;
          const w = 10 + c;
          for (let i = 0; i < a.length; i++) a[i]! += w * b[i]!;
        }
      }
      return acc;
    },
    ours: () => {
      const mean = new WeightedMean();
      for (let c = 0; c < clients; c++) mean.add(updates[c % updates.length]!, 10 + c);
      return mean.result();
    },
  };
  const t = await interleaved(ops, { batch: 1, samples: quick ? 3 : 9, warmup: 1 });
  const bytes = clients * PARAMS * 4;
  const gbps = (ns: number) => bytes / ns; // bytes per ns = GB/s
  const ratio = gbps(t.ours!.median) / gbps(t.raw!.median);
  return [
    {
      id: 'raw.accumulate',
      median: gbps(t.raw!.median),
      unit: 'GB/s of updates',
      samples: t.raw!.samples,
      note: 'a[i] += w * b[i] over the same 100 updates',
    },
    {
      id: 'fedavg.aggregate',
      median: gbps(t.ours!.median),
      unit: 'GB/s of updates',
      ratio,
      vs: 'raw.accumulate',
      target: 'throughput ratio >= 0.8',
      met: ratio >= 0.8,
      samples: t.ours!.samples,
      note: `WeightedMean.add x100 + result(), ${PARAMS} parameters in ${LAYERS} tensors`,
    },
  ];
}

/** A learner whose update is made fresh per call and not kept: it exists only until the trainer has added it. */
class FreshUpdateLearner implements Learner {
  constructor(readonly seed: number) {}
  async train(params: TrainParams): Promise<TrainResult> {
    // A macrotask per learner, as real training would take: results then arrive one by one.
    await new Promise((resolve) => setImmediate(resolve));
    const weights: Weights = {};
    for (const [name, t] of Object.entries(params.weights)) {
      const data = new Float32Array(t.data.length);
      for (let i = 0; i < data.length; i += 1024) data[i] = this.seed;
      weights[name] = { shape: t.shape, data };
    }
    return { weights, numExamples: 10 + this.seed };
  }
  evaluate() {
    return { numExamples: 1, metrics: {} };
  }
  getWeights(): Weights {
    return {};
  }
  setWeights() {
    // It keeps no model: each update is made from the weights a round sends.
  }
}

/**
 * One FedAvg round of 100 learners of the 4M model through the Federation; live memory sampled as each result
 * is added.
 */
async function aggregationMemory(): Promise<BenchResult[]> {
  if (!gc)
    return [
      {
        id: 'fedavg.aggregate.peak_memory',
        median: NaN,
        unit: 'x model size',
        note: 'run with node --expose-gc to measure',
      },
    ];
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, timeout: 0 });
  const learners: Node[] = [];
  for (let i = 0; i < 100; i++) {
    const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false, timeout: 0 });
    node.serve(new FreshUpdateLearner(i));
    await joinInMemory(trainer, node);
    learners.push(node);
  }
  const initial = model(0);
  const modelBytes = PARAMS * 4;
  const federation = new Federation({ node: trainer, rounds: 1, initialWeights: initial });
  gc();
  gc();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = 0;
  let samples = 0;
  federation.events.on('CLIENT_RESULT', () => {
    // Twice: a collection that finishes an incremental cycle keeps what that cycle had marked.
    gc();
    gc();
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
    samples += 1;
  });
  const result = await federation.start();
  for (const node of learners) node.close();
  trainer.close();
  const failures = result.history[0]?.failures ?? [];
  if (failures.length)
    throw new Error(`aggregation round had failures: ${failures[0]!.code} ${failures[0]!.message}`);
  const ratio = peak / modelBytes;
  return [
    {
      id: 'fedavg.aggregate.peak_memory',
      median: ratio,
      unit: 'x model size',
      ratio,
      vs: 'one model (16 MiB)',
      target: '< 3x one model',
      met: ratio < 3,
      samples,
      note: 'live ArrayBuffer memory above the pre-round baseline, after gc, at each of the 100 results of a real memory-mode round',
    },
  ];
}

class TinyLearner implements Learner {
  constructor(readonly i: number) {}
  train(params: TrainParams): TrainResult {
    const w = params.weights.w!;
    const data = new Float32Array(w.data.length);
    for (let k = 0; k < data.length; k++) data[k] = w.data[k]! + ((this.i % 7) - 3) * 0.001;
    return { weights: { w: { shape: w.shape, data } }, numExamples: 1 + (this.i % 5) };
  }
  evaluate() {
    return { numExamples: 1, metrics: {} };
  }
  getWeights(): Weights {
    return {};
  }
  setWeights() {
    // It keeps no model: each update is made from the weights a round sends.
  }
}

/** One FedAvg round over 10,000 in-memory learners, against the same learners called directly. */
async function round10k(quick: boolean): Promise<BenchResult[]> {
  const count = quick ? 2_000 : 10_000;
  const initial: Weights = { w: { shape: [10], data: new Float32Array(10) } };
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, timeout: 0 });
  const objects: Learner[] = Array.from({ length: count }, (_, i) => new TinyLearner(i));
  const nodes: Node[] = [];
  const setupStart = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false, timeout: 0 });
    node.serve(objects[i]!);
    nodes.push(node);
  }
  await Promise.all(nodes.map((node) => joinInMemory(trainer, node)));
  const setupMs = Number(process.hrtime.bigint() - setupStart) / 1e6;
  gc?.();
  const perLearnerBytes = (process.memoryUsage().heapUsed - heapBefore) / count;

  const oursRuns: number[] = [];
  const directRuns: number[] = [];
  for (let run = 0; run < (quick ? 2 : 5); run++) {
    gc?.();
    const federation = new Federation({ node: trainer, rounds: 1, initialWeights: initial });
    // The round itself, from its summary: not what a run does after it (telling 10,000 learners it ended).
    const { history } = await federation.start();
    oursRuns.push(history[0]!.timings.totalMs);
    // Let what the run set going after its round (acknowledgements of its end, one microtask each)
    // finish before the baseline is timed: a turn of the event loop drains them.
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Each contender starts from a collected heap: neither pays for the other's garbage.
    gc?.();
    const t = process.hrtime.bigint();
    const mean = new WeightedMean();
    await Promise.all(
      objects.map(async (learner) => {
        const r = await learner.train({ round: 1, weights: initial, config: {} });
        mean.add(r.weights, r.numExamples);
      }),
    );
    mean.result();
    directRuns.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  for (const node of nodes) node.close();
  trainer.close();
  const ours = median(oursRuns);
  const direct = median(directRuns);
  return [
    {
      id: 'direct.round.10k',
      median: direct,
      unit: 'ms',
      samples: directRuns.length,
      note: `${count} learner objects called directly, same aggregation`,
    },
    {
      id: 'memory.round.10k',
      median: ours,
      unit: 'ms',
      ratio: ours / direct,
      vs: 'direct.round.10k',
      samples: oursRuns.length,
      note: `one FedAvg round, ${count} learner nodes in memory mode`,
    },
    {
      id: 'memory.round.10k.per_learner',
      median: (ours * 1000) / count,
      unit: 'us per learner',
      ratio: ours / direct,
      vs: 'direct.round.10k',
    },
    {
      id: 'memory.round.10k.overhead_per_learner',
      median: ((ours - direct) * 1000) / count,
      unit: 'us per learner',
    },
    {
      id: 'memory.learner.heap',
      median: perLearnerBytes / 1024,
      unit: 'KiB per learner node',
      note: `heap of a learner node joined in memory (after gc; setup of ${count} took ${setupMs.toFixed(0)} ms)`,
    },
  ];
}

export async function federationSuite(quick: boolean): Promise<void> {
  // Memory first: the throughput run leaves large buffers that V8 frees only some time after gc().
  const memory = await aggregationMemory();
  const results = [...(await aggregateThroughput(quick)), ...memory, ...(await round10k(quick))];
  writeSuite('federation', results, [
    'fedavg.aggregate: ratio = our throughput / raw loop throughput over the same data in the same run (higher is better).',
    'memory.round.10k: ratio = our round time / the same learners called directly (lower is better).',
  ]);
}
