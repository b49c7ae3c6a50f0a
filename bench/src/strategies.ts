import {
  createStrategy,
  STRATEGY_NAMES,
  type Aggregation,
  type ClientUpdate,
  type RoundStart,
  type Strategy,
  type StrategyName,
  type Weights,
} from '@oiafed/core';
import { seededModel } from './seeded-model.js';
import { interleaved, median, writeSuite, type BenchResult, type Sampled } from './harness.js';

const LEARNERS = 20;
const PARAMS = 1024 * 1024;
const LAYERS = 4;
const MODEL_BYTES = PARAMS * 4;

/** Options for the built-ins that need some; the rest run on their defaults. */
const OPTIONS: Partial<Record<StrategyName, Record<string, number>>> = {
  // Its default (momentum 0, learning rate 1) makes the step a copy of the mean: FedAvg again.
  fedavgm: { momentum: 0.9 },
  krum: { byzantine: 2, keep: LEARNERS - 2 },
  centeredclipping: { tau: 1 },
};

/** The benchmark's model for learner `seed`. */
function model(seed: number): Weights {
  return seededModel(seed, PARAMS, LAYERS);
}

function copy(weights: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(weights)) out[name] = { shape: [...t.shape], data: t.data.slice() };
  return out;
}

const start: RoundStart = { round: 1, weights: model(0), config: {} };
const updates: ClientUpdate[] = Array.from({ length: LEARNERS }, (_, i) => ({
  client: `learner-${String(i).padStart(2, '0')}`,
  weights: model(i + 1),
  numExamples: 10 + i,
  metrics: {},
  staleness: 0,
}));

const make = (name: StrategyName) => createStrategy(name, OPTIONS[name]);

/**
 * One round's server side, as the schedule runs it: a fresh aggregation, every update added, its result, the
 * server step.
 */
function round(
  strategy: Strategy,
  each: (update: ClientUpdate) => ClientUpdate = (u) => u,
  sample: (at: string) => void = () => undefined,
): Weights {
  const aggregation = strategy.aggregation(start);
  updates.forEach((update, i) => {
    add(aggregation, each, update);
    sample(`add ${i + 1}`);
  });
  const aggregate = aggregation.result();
  sample('result()');
  const next = strategy.update(start, aggregate);
  sample('update()');
  return next;
}

/**
 * In a function of its own so that the update it makes dies with its frame: an interpreter
 * register of round()'s frame would otherwise hold the last one through result() and update().
 */
function add(
  aggregation: Aggregation,
  each: (update: ClientUpdate) => ClientUpdate,
  update: ClientUpdate,
): void {
  aggregation.add(each(update));
}

const gc = (globalThis as { gc?: () => void }).gc;
const live = () => {
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

/**
 * Live memory during one round of a fresh strategy, as the federation suite measures FedAvg's: after
 * gc, above a baseline taken before the round, sampled as each update is added (the update just
 * added still in hand, as at a CLIENT_RESULT), after result() and after the server step. Each
 * update is a fresh copy dropped by the caller once added, as a learner's result is, so only what
 * the strategy keeps stays live.
 */
function peakMemory(name: StrategyName): { models: number; at: string; samples: number } {
  if (!gc) throw new Error('run with node --expose-gc to measure memory');
  const strategy = make(name);
  // Twice: a collection that finishes an incremental cycle keeps what that cycle had marked.
  gc();
  gc();
  const baseline = live();
  let peak = 0;
  let peakAt = '';
  let samples = 0;
  // The update just added, held until the next sample has counted it: the caller holds a learner's result until add()
  // returns.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- written, never read: holding the update is the point
  let inHand: Weights | undefined;
  round(
    strategy,
    (update) => ({ ...update, weights: (inHand = copy(update.weights)) }),
    (at) => {
      gc();
      gc();
      const bytes = live() - baseline;
      if (bytes > peak) [peak, peakAt] = [bytes, at];
      samples += 1;
      inHand = undefined;
    },
  );
  return { models: peak / MODEL_BYTES, at: peakAt, samples };
}

export async function strategiesSuite(quick: boolean): Promise<void> {
  const began = process.hrtime.bigint();
  // Memory first: the throughput run leaves large buffers that V8 frees only some time after gc().
  const memory = Object.fromEntries(STRATEGY_NAMES.map((name) => [name, gc ? peakMemory(name) : undefined]));

  // Each strategy against its own fedavg samples, taken just before its own in every round: on a
  // shared machine a burst of load then falls on both sides of a ratio, not on one of ten.
  const fedavg = make('fedavg');
  const pairs = new Map<StrategyName, { base: Sampled; own: Sampled }>();
  for (const name of STRATEGY_NAMES.filter((n) => n !== 'fedavg')) {
    const strategy = make(name);
    // A round that keeps the updates takes 3-10x FedAvg's: fewer samples keep the suite near a minute.
    const samples = quick ? 3 : strategy.aggregation(start).keepsUpdates ? 9 : 15;
    const t = await interleaved(
      { fedavg: () => round(fedavg), [name]: () => round(strategy) },
      { batch: 1, samples },
    );
    pairs.set(name, { base: t.fedavg!, own: t[name]! });
  }
  const bytes = LEARNERS * MODEL_BYTES;
  const gbps = (ns: number) => bytes / ns; // bytes per ns = GB/s
  const fedavgTimes = [...pairs.values()].flatMap((p) => p.base.times);

  const roundNote = (name: StrategyName, ns: number) => {
    const options = OPTIONS[name]
      ? ` (${Object.entries(OPTIONS[name])
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')})`
      : '';
    return `one round${options}: aggregation(start), add x${LEARNERS}, result(), update(start, aggregate); ${(ns / 1e6).toFixed(0)} ms`;
  };
  const results: BenchResult[] = [
    {
      id: 'fedavg.aggregate',
      median: gbps(median(fedavgTimes)),
      unit: 'GB/s of updates',
      samples: fedavgTimes.length,
      note: `${roundNote('fedavg', median(fedavgTimes))}; all its samples, from every pair`,
    },
  ];
  for (const [name, { base, own }] of pairs) {
    const paired = own.times.map((ns, i) => base.times[i]! / ns);
    results.push({
      id: `${name}.aggregate`,
      median: gbps(own.median),
      unit: 'GB/s of updates',
      ratio: base.median / own.median,
      ratioRange: [Math.min(...paired), Math.max(...paired)],
      vs: `fedavg in its pair (${gbps(base.median).toFixed(2)} GB/s)`,
      samples: own.samples,
      note: roundNote(name, own.median),
    });
  }
  for (const name of STRATEGY_NAMES) {
    const m = memory[name];
    results.push(
      m
        ? {
            id: `${name}.aggregate.peak_memory`,
            median: m.models,
            unit: 'x model size',
            ratio: m.models,
            vs: `one model (${MODEL_BYTES / 2 ** 20} MiB)`,
            samples: m.samples,
            note: `highest after ${m.at}`,
          }
        : {
            id: `${name}.aggregate.peak_memory`,
            median: NaN,
            unit: 'x model size',
            note: 'run with node --expose-gc to measure',
          },
    );
  }
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  writeSuite('strategies', results, [
    `${LEARNERS} updates of a ${PARAMS}-parameter float32 model (${LAYERS} tensors, ${MODEL_BYTES / 2 ** 20} MiB), the same updates for every strategy; each built-in made by createStrategy(name) on its defaults, except ${Object.entries(
      OPTIONS,
    )
      .map(
        ([name, o]) =>
          `${name} (${Object.entries(o)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`,
      )
      .join(', ')}.`,
    `<name>.aggregate: throughput in GB/s of updates (${LEARNERS} x ${MODEL_BYTES / 2 ** 20} MiB per round); ratio = its throughput / fedavg's over the same updates, each strategy interleaved with fedavg in a pair of its own (fedavg, it, fedavg, it...) in the same run (higher is better; below 1 is slower than FedAvg's streaming mean). ratio min–max: the lowest and highest ratio of one of its samples to the fedavg sample taken just before it. fedavg.aggregate pools fedavg's samples from every pair; each ratio is against the fedavg median of its own pair, shown in vs.`,
    '<name>.aggregate.peak_memory: live heap + ArrayBuffer memory above the pre-round baseline, after gc, in models: sampled after each add (the update just added still in hand), after result() and after update(), each update a fresh copy that the caller drops once added. A buffer made and freed inside one call is not seen: those that keep the updates build their one-model result beside them inside result(), one model more than sampled.',
    `Suite time: ${seconds.toFixed(0)} s${quick ? ' (--quick)' : ''}.`,
  ]);
}
