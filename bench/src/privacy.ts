import {
  FedAvg,
  type Cohort,
  type GatherOutcome,
  type Learner,
  type TrainParams,
  type TrainResult,
  type Weights,
} from '@oiafed/core';
import {
  Codec,
  resolveSecureAggregation,
  SecureAggregationClient,
  trainSecurely,
  trainTogether,
} from '@oiafed/core/internal';
import { median, writeSuite, type BenchResult } from './harness.js';
import { privacyDemoSuite } from './privacy-demo.js';
import { seededModel } from './seeded-model.js';

const PARAMS = 200_000;
const LAYERS = 4;
/** Learners that mask with every neighbour from n = 100 on (the others mask with them only). */
const HONEST_AT_SCALE = 10;

/** A learner whose update is a fixed small step from the global model: its training costs next to nothing. */
class StepLearner implements Learner {
  constructor(readonly seed: number) {}
  train(params: TrainParams): TrainResult {
    const weights: Weights = {};
    for (const [name, t] of Object.entries(params.weights)) {
      const data = t.data.slice();
      for (let i = 0; i < data.length; i += 97) data[i]! += ((this.seed % 13) - 6) / 100;
      weights[name] = { shape: t.shape, data };
    }
    return { weights, numExamples: 10 + (this.seed % 20) };
  }
  evaluate() {
    return { numExamples: 1, metrics: {} };
  }
  getWeights(): Weights {
    return {};
  }
  setWeights() {
    // No model of its own: each update is made from the weights a round sends.
  }
}

interface Tally {
  /** ns spent inside learners' methods, in all and per learner. */
  learnerNs: number;
  perLearner: Map<string, number>;
  /** Encoded bytes of every request and answer between the trainer and its learners. */
  bytes: number;
  /** ns spent encoding them (the benchmark's, not the trainer's: left out of its time). */
  encodeNs: number;
}

/**
 * A cohort that asks its learners one at a time, in this thread, timing each call and encoding
 * each request and answer with the wire codec: the round's wall time is then exactly the trainer's
 * work plus the learners', and the bytes are what a wire would carry (frames' headers aside).
 */
function sequentialCohort(
  learners: Map<string, Record<string, (p: unknown) => unknown>>,
  tally: Tally,
): Cohort {
  const codec = new Codec();
  const gather = async (
    method: string,
    ids: readonly string[],
    paramsFor: (id: string) => unknown,
    onResult: (id: string, result: unknown) => void,
    options: { validate?: (result: unknown, id: string) => unknown } = {},
  ): Promise<GatherOutcome> => {
    const outcome: GatherOutcome = { succeeded: [], failures: [], cancelled: [] };
    for (const id of ids) {
      const params = paramsFor(id);
      if (params === undefined) continue;
      let e0 = process.hrtime.bigint();
      tally.bytes += codec.encodeValue([params]).byteLength;
      tally.encodeNs += Number(process.hrtime.bigint() - e0);
      const t0 = process.hrtime.bigint();
      const answer = await learners.get(id)![method]!(params);
      const ns = Number(process.hrtime.bigint() - t0);
      tally.learnerNs += ns;
      tally.perLearner.set(id, (tally.perLearner.get(id) ?? 0) + ns);
      e0 = process.hrtime.bigint();
      tally.bytes += codec.encodeValue(answer).byteLength;
      tally.encodeNs += Number(process.hrtime.bigint() - e0);
      onResult(id, options.validate ? options.validate(answer, id) : answer);
      outcome.succeeded.push(id);
    }
    return outcome;
  };
  return { gather, round: 1 } as unknown as Cohort;
}

/** The learners of one round: plain ones, or secure-aggregation clients (all honest, or `honest` of them). */
function makeLearners(
  n: number,
  secure: boolean,
  honest = n,
): Map<string, Record<string, (p: unknown) => unknown>> {
  const ids = Array.from({ length: n }, (_, i) => `learner-${String(i).padStart(4, '0')}`);
  const honestIds = new Set(ids.slice(0, honest));
  const out = new Map<string, Record<string, (p: unknown) => unknown>>();
  ids.forEach((id, i) => {
    const learner = new StepLearner(i);
    if (!secure) return out.set(id, { train: (p) => learner.train(p as TrainParams) });
    const client = new SecureAggregationClient(learner) as unknown as Record<string, (p: unknown) => unknown>;
    const methods: Record<string, (p: unknown) => unknown> = {};
    for (const m of ['advertise', 'shareKeys', 'deliver', 'maskedInput', 'unmask'])
      methods[`oiafed.secagg.${m}`] = (p) => client[`oiafed.secagg.${m}`]!.call(client, p);
    if (!honestIds.has(id)) {
      // In a round nobody drops, a pair's masks cancel in the sum: a pair of learners that both
      // leave theirs out changes neither the sum, nor the trainer's work, nor a byte on the wire.
      const masked = methods['oiafed.secagg.maskedInput']!;
      methods['oiafed.secagg.maskedInput'] = (p) => {
        const params = p as { maskWith: string[] };
        return masked({ ...params, maskWith: params.maskWith.filter((other) => honestIds.has(other)) });
      };
    }
    return out.set(id, methods);
  });
  return out;
}

interface RoundCost {
  trainerMs: number;
  learnerMs: number;
  bytesPerLearner: number;
}

async function oneRound(n: number, secure: boolean, honest: number): Promise<RoundCost> {
  const learners = makeLearners(n, secure, honest);
  const tally: Tally = { learnerNs: 0, perLearner: new Map(), bytes: 0, encodeNs: 0 };
  const cohort = sequentialCohort(learners, tally);
  const start = { round: 1, weights: seededModel(1, PARAMS, LAYERS), config: {} };
  const ids = [...learners.keys()];
  const t0 = process.hrtime.bigint();
  const out = secure
    ? await trainSecurely(new FedAvg(), start, cohort, ids, {
        minResults: n,
        secure: resolveSecureAggregation({ clipRange: 1, maxExamples: 32 }),
      })
    : await trainTogether(new FedAvg(), start, cohort, ids, {
        target: n,
        minResults: n,
        signal: new AbortController().signal,
      });
  const wallNs = Number(process.hrtime.bigint() - t0);
  if (out.parts.length !== n) throw new Error(`round of ${n}: ${out.parts.length} results`);
  // At scale the learners that skip masks do less than an honest one: the honest are the measure.
  const measured = ids.slice(0, secure ? honest : n);
  const learnerNs = measured.reduce((sum, id) => sum + tally.perLearner.get(id)!, 0);
  return {
    trainerMs: (wallNs - tally.learnerNs - tally.encodeNs) / 1e6,
    learnerMs: learnerNs / 1e6 / measured.length,
    bytesPerLearner: tally.bytes / n,
  };
}

export async function privacySuite(quick: boolean): Promise<void> {
  const sizes = quick ? [10, 100] : [10, 100, 1000];
  const results: BenchResult[] = [];
  const trainerMs: Record<number, number> = {};
  for (const n of sizes) {
    const samples = n >= 1000 ? 1 : quick ? 2 : 3;
    const honest = n >= 100 ? HONEST_AT_SCALE : n;
    const plain: RoundCost[] = [];
    const secure: RoundCost[] = [];
    // Interleaved: plaintext and secure rounds alternate, so the machine's noise falls on both.
    for (let s = 0; s < samples; s++) {
      plain.push(await oneRound(n, false, n));
      secure.push(await oneRound(n, true, honest));
    }
    const m = (rows: RoundCost[], key: keyof RoundCost) => median(rows.map((r) => r[key]));
    const bytesRatio = m(secure, 'bytesPerLearner') / m(plain, 'bytesPerLearner');
    const tRatios = secure.map((r, i) => r.trainerMs / plain[i]!.trainerMs);
    trainerMs[n] = m(secure, 'trainerMs');
    results.push(
      {
        id: `plain.bytes.n${n}`,
        median: m(plain, 'bytesPerLearner') / 1024,
        unit: 'KiB per learner per round',
        samples,
      },
      {
        id: `secagg.bytes.n${n}`,
        median: m(secure, 'bytesPerLearner') / 1024,
        unit: 'KiB per learner per round',
        ratio: bytesRatio,
        vs: `plain.bytes.n${n}`,
        ...(n === 100 ? { target: 'ratio <= 2', met: bytesRatio <= 2 } : {}),
        samples,
      },
      {
        id: `plain.learner.n${n}`,
        median: m(plain, 'learnerMs'),
        unit: 'ms per learner per round',
        samples,
        note: 'its training: a fixed step, next to nothing',
      },
      {
        id: `secagg.learner.n${n}`,
        median: m(secure, 'learnerMs'),
        unit: 'ms per learner per round',
        samples,
        note: `all five phases, training included${honest < n ? `; the ${honest} learners that mask with every neighbour` : ''}`,
      },
      { id: `plain.trainer.n${n}`, median: m(plain, 'trainerMs'), unit: 'ms trainer per round', samples },
      {
        id: `secagg.trainer.n${n}`,
        median: trainerMs[n],
        unit: 'ms trainer per round',
        ratio: trainerMs[n] / m(plain, 'trainerMs'),
        vs: `plain.trainer.n${n}`,
        ratioRange: [Math.min(...tRatios), Math.max(...tRatios)],
        samples,
      },
    );
  }
  // Trainer time against n log n: each step of n should cost at most (n2 log n2) / (n1 log n1) more.
  for (let i = 1; i < sizes.length; i++) {
    const [a, b] = [sizes[i - 1]!, sizes[i]!];
    const growth = trainerMs[b]! / trainerMs[a]!;
    const bound = (b * Math.log(b)) / (a * Math.log(a));
    results.push({
      id: `secagg.trainer.growth.n${a}-n${b}`,
      median: growth,
      unit: `x (n log n grows ${bound.toFixed(1)}x)`,
      target: `<= ${bound.toFixed(1)} (n log n)`,
      met: growth <= bound,
    });
  }
  writeSuite('privacy', results, [
    `Memory mode, a ${PARAMS.toLocaleString('en')}-parameter model in ${LAYERS} tensors, FedAvg, no dropouts; secure aggregation with its defaults (32 bits, full graph up to 101 learners, then degree 2 ceil(5 log2 n): 100 at n = 1,000; threshold a majority).`,
    "Each round is driven by a cohort that asks its learners one at a time in this thread and times each call: trainer time is the round's wall time less the time spent inside learners and encoding. Bytes are every request and answer encoded with the wire codec.",
    `From n = 100 on, ${HONEST_AT_SCALE} learners mask with all their neighbours and the rest only with those (a pair whose learners both leave their masks out changes neither the sum, nor the trainer's work, nor the bytes): learner compute there is theirs. (Every learner still does all the key agreement and sharing.)`,
    'Plain rounds and secure rounds alternate (interleaved); the ratio range is over the per-sample ratios.',
    'The MNIST demo with --secure and with DP (test accuracy at round 10 against plaintext, and epsilon): results/privacy-demo.md, suite privacy-demo, which this suite runs next.',
  ]);
  await privacyDemoSuite(quick);
}
