import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../../connect/join-in-memory.js';
import { Node } from '../../rpc/node.js';
import { OiafedError } from '../../wire/errors.js';
import { MemoryCheckpointStore } from '../checkpoint.js';
import { Federation, type FederationOptions } from '../federation.js';
import type { Learner, TrainParams, TrainResult } from '../learner.js';
import { LinearLearner, linearData, zeroLinearWeights } from '../linear-learner.test-support.js';
import { seededRandom } from '../random.js';
import { serveLearner } from '../serve-learner.js';
import { FedAvg } from '../strategies/fedavg.js';
import { Krum } from '../strategies/robust.js';
import { FedAvgM } from '../strategies/server-optimized.js';
import type { RoundStart } from '../strategy.js';
import { tensor, type Weights } from '../weights.js';
import { DifferentialPrivacy } from './differential-privacy.js';
import { PRIVACY_CONFIG_KEY, withLearnerPrivacy } from './learner-privacy.js';
import { RdpAccountant } from './rdp-accountant.js';
import { SecureAggregationClient } from '../secure/learner-side.js';
import { MASKED_INPUT, SECURE_AGGREGATION_METHODS } from '../secure/messages.js';
import { quantizationError, quantizationLevels } from '../secure/quantize.js';
import type { DifferentialPrivacyOptions } from './privacy-options.js';

const nodes: Node[] = [];
afterEach(() => {
  nodes.splice(0).forEach((n) => n.close());
});

/** A trainer and one learner node per learner, served as the SDK serves them (serveLearner), in memory. */
async function federate(learners: Learner[], options: Omit<FederationOptions, 'node'>): Promise<Federation> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  nodes.push(trainer);
  for (const [i, learner] of learners.entries()) {
    const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false });
    nodes.push(node);
    serveLearner(node, learner);
    await joinInMemory(trainer, node, { strict: true });
  }
  return new Federation({ node: trainer, ...options });
}

/** Sends back the global model moved by a fixed step: an update of known norm. */
class StepLearner implements Learner {
  readonly configs: Record<string, unknown>[] = [];
  constructor(
    readonly step: number[],
    readonly examples = 10,
  ) {}
  train(params: TrainParams): TrainResult {
    this.configs.push(params.config);
    const w = params.weights.w!.data.map((v, i) => v + this.step[i]!);
    return { weights: { w: tensor(w) }, numExamples: this.examples };
  }
  evaluate() {
    return { numExamples: 10, metrics: {} };
  }
  getWeights(): Weights {
    return { w: tensor(new Float32Array(this.step.length)) };
  }
  setWeights() {
    // Its answer depends only on the model it is sent.
  }
}

const start = (dims: number): RoundStart => ({
  round: 1,
  weights: { w: tensor(new Float32Array(dims)) },
  config: {},
});

/** Sample standard deviation, in doubles. */
function stdOf(data: Float32Array): number {
  let mean = 0;
  for (const v of data) mean += v;
  mean /= data.length;
  let sq = 0;
  for (const v of data) sq += (v - mean) ** 2;
  return Math.sqrt(sq / (data.length - 1));
}

/** 5 standard errors of a sample std of n normal draws (see clipping.test.ts). */
const stdBound = (sigma: number, n: number) => (5 * sigma) / Math.sqrt(2 * (n - 1));

const dp = (options: Partial<DifferentialPrivacyOptions> = {}, inner = new FedAvg()) =>
  new DifferentialPrivacy(inner, { noiseMultiplier: 1, clip: 1, random: seededRandom(11), ...options });

describe('DifferentialPrivacy (central DP-FedAvg)', () => {
  it('adds noise of std z·C to the sum: over 50,000 values the mean update has std z·C/n', () => {
    const dims = 50_000;
    const strategy = dp({ noiseMultiplier: 1.5, clip: 2 });
    const s = start(dims);
    const aggregation = strategy.aggregation(s);
    // Four learners that send the global model back: the sum of updates is 0, all that is left is noise.
    for (let i = 0; i < 4; i++)
      aggregation.add({ client: `l${i}`, weights: s.weights, numExamples: 1, metrics: {}, staleness: 0 });
    const { weights, privacy } = aggregation.result();
    const expected = (1.5 * 2) / 4;
    expect(Math.abs(stdOf(weights.w!.data) - expected)).toBeLessThan(stdBound(expected, dims));
    expect(privacy).toMatchObject({
      noiseMultiplier: 1.5,
      clip: 2,
      sampleRate: 1,
      delta: 1e-5,
      exhausted: false,
    });
  });

  it('weighs every learner alike and clips each update to C before the mean', () => {
    const strategy = dp({ noiseMultiplier: 1e-9, clip: 1 });
    const s = start(2);
    const aggregation = strategy.aggregation(s);
    // (3, 4) has norm 5 and becomes (0.6, 0.8); (0.1, 0) stays. Example counts do not weigh.
    aggregation.add({
      client: 'a',
      weights: { w: tensor([3, 4]) },
      numExamples: 1000,
      metrics: {},
      staleness: 0,
    });
    aggregation.add({
      client: 'b',
      weights: { w: tensor([0.1, 0]) },
      numExamples: 1,
      metrics: {},
      staleness: 0,
    });
    const { weights } = aggregation.result();
    expect(weights.w!.data[0]).toBeCloseTo(0.35, 5);
    expect(weights.w!.data[1]).toBeCloseTo(0.4, 5);
  });

  it('divides by expectedClients when set (the fixed-denominator estimator)', () => {
    const strategy = dp({ noiseMultiplier: 1e-9, clip: 10, expectedClients: 4 });
    const s = start(1);
    const aggregation = strategy.aggregation(s);
    aggregation.add({ client: 'a', weights: { w: tensor([2]) }, numExamples: 1, metrics: {}, staleness: 0 });
    expect(aggregation.result().weights.w!.data[0]).toBeCloseTo(0.5, 6);
  });

  it('fails a round with no update, spending nothing', () => {
    const strategy = dp();
    expect(() => strategy.aggregation(start(1)).result()).toThrow(/no update/);
    expect(strategy.epsilon()).toBe(0);
  });

  it('refuses a strategy that does not aggregate by a mean, and a budget smaller than one round', () => {
    expect(() => dp({}, new Krum({ byzantine: 0 }))).toThrow(/cannot wrap strategy krum/);
    // One round at z 1, q 1 spends epsilon 4.7285 at delta 1e-5 (Opacus).
    expect(() => dp({ budget: 4.7 })).toThrow(/less than one round spends \(epsilon 4\.729/);
    expect(() => dp({ budget: 4.73 })).not.toThrow();
    for (const bad of [
      { noiseMultiplier: 0 },
      { clip: -1 },
      { delta: 1 },
      { sampleRate: 0 },
      { mode: 'local' },
    ])
      expect(() => dp(bad as Partial<DifferentialPrivacyOptions>)).toThrow(OiafedError);
  });
});

describe('adaptive clipping (Andrew et al. 2021)', () => {
  const adaptive = (initial: number) =>
    dp({ noiseMultiplier: 1, clip: { initial, targetQuantile: 0.5, learningRate: 0.2, countNoise: 0.6 } });

  /** One round of 100 updates of norm `norm` at clip 1; the clip the next round uses. */
  function nextClip(norm: number): number {
    const strategy = adaptive(1);
    const s = start(1);
    const aggregation = strategy.aggregation(s);
    for (let i = 0; i < 100; i++)
      aggregation.add({
        client: `l${i}`,
        weights: { w: tensor([norm]) },
        numExamples: 1,
        metrics: {},
        staleness: 0,
      });
    aggregation.result();
    return strategy.clip;
  }

  // The unclipped share b is 1 (or 0), noised by 0.6/100 = 0.006 (5 of those bound it);
  // C' = C exp(-0.2 (b - 0.5)).
  const bounds = (b: number) => [Math.exp(-0.2 * (b + 0.03 - 0.5)), Math.exp(-0.2 * (b - 0.03 - 0.5))];

  it('shrinks the clip when updates fall under it', () => {
    const [low, high] = bounds(1);
    const clip = nextClip(0.5);
    expect(clip).toBeGreaterThan(low!);
    expect(clip).toBeLessThan(high!);
  });

  it('grows the clip when updates are clipped', () => {
    const [low, high] = bounds(0);
    const clip = nextClip(3);
    expect(clip).toBeGreaterThan(low!);
    expect(clip).toBeLessThan(high!);
  });

  it('raises the sum\u2019s noise so the two releases together have the noise multiplier asked', () => {
    const dims = 50_000;
    const strategy = adaptive(2);
    const s = start(dims);
    const aggregation = strategy.aggregation(s);
    aggregation.add({ client: 'a', weights: s.weights, numExamples: 1, metrics: {}, staleness: 0 });
    const { weights, privacy } = aggregation.result();
    // z_delta = (z^-2 - (2 sigma_b)^-2)^-1/2 = (1 - 1/1.44)^-1/2 = 1.8091...
    const expected = 2 * (1 - 1 / 1.44) ** -0.5;
    expect(Math.abs(stdOf(weights.w!.data) - expected)).toBeLessThan(stdBound(expected, dims));
    expect(privacy?.noiseMultiplier).toBe(1);
    expect(privacy?.clip).toBe(2);
  });

  it('needs the count noise, and more than z/2 of it', () => {
    expect(() => dp({ clip: { initial: 1 } })).toThrow(/countNoise must be set, or expectedClients set/);
    expect(() => dp({ clip: { initial: 1, countNoise: 0.5 } })).toThrow(/countNoise must be more than/);
    expect(dp({ clip: { initial: 1 }, expectedClients: 100 }).options.clip).toMatchObject({ countNoise: 5 });
  });
});

describe('a federation with differential privacy, in memory', () => {
  const learners = (n: number) =>
    Array.from({ length: n }, (_, i) => new LinearLearner(linearData(i + 1, 40)));

  it('reaches a model on the linear learners and reports epsilon after every round', async () => {
    const data = linearData(99, 200);
    const lossOf = (w: Weights) =>
      new LinearLearner(data).evaluate({ round: 0, weights: w, config: {} }).metrics.loss!;
    const initial = zeroLinearWeights();
    const federation = await federate(learners(20), {
      rounds: 8,
      minClients: 20,
      initialWeights: initial,
      config: { lr: 0.05 },
      strategy: dp({ noiseMultiplier: 0.5, clip: 1 }),
    });
    const result = await federation.start();
    expect(result.reason).toBe('completed');
    // y = 2 x1 - 3 x2 + 0.5 x3 + 1 on x in [-1, 1): the zero model's loss is about 5.4.
    expect(lossOf(initial)).toBeGreaterThan(4);
    expect(lossOf(result.weights)).toBeLessThan(0.1);
    const epsilons = result.history.map((s) => s.privacy!.epsilon);
    expect(epsilons.every((e, i) => i === 0 || e > epsilons[i - 1]!)).toBe(true);
    expect(result.history[0]!.privacy).toMatchObject({ noiseMultiplier: 0.5, clip: 1, sampleRate: 1 });
  });

  it('stops at the epsilon budget, before the round that would pass it (reason budget)', async () => {
    // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657, 3.1890, 4.0113, 4.7285, then 5.3777 after round 5.
    const federation = await federate(learners(3), {
      rounds: 20,
      minClients: 3,
      initialWeights: zeroLinearWeights(),
      strategy: dp({ noiseMultiplier: 2, clip: 1, budget: 5 }),
    });
    const result = await federation.start();
    expect(result.reason).toBe('budget');
    expect(result.rounds).toBe(4);
    const spent = result.history.map((s) => s.privacy!.epsilon);
    [2.1657156590294435, 3.188991562633588, 4.011321708510027, 4.728507067217623].forEach((e, i) =>
      expect(spent[i]).toBeCloseTo(e, 9),
    );
    expect(result.history.map((s) => s.privacy!.exhausted)).toEqual([false, false, false, true]);
    // The dashboard's figure beside the round: the telemetry's points carry it.
    expect(federation.telemetry().points.map((p) => p.privacy)).toEqual(
      result.history.map((s) => ({ epsilon: s.privacy!.epsilon, delta: 1e-5, budget: 5 })),
    );
  });

  it('keeps the accountant and the adapted clip in its checkpoint, so a resumed run spends on from there', async () => {
    const store = new MemoryCheckpointStore();
    const options = { noiseMultiplier: 2, clip: { initial: 1, countNoise: 2 } };
    const firstStrategy = dp(options);
    const first = await federate(learners(3), {
      rounds: 2,
      minClients: 3,
      initialWeights: zeroLinearWeights(),
      strategy: firstStrategy,
      store,
    });
    const done = await first.start();
    const clip = firstStrategy.clip;
    nodes.splice(0).forEach((n) => n.close());
    const strategy = dp(options, new FedAvgM({ momentum: 0 }));
    const resumed = await federate(learners(3), { rounds: 3, minClients: 3, strategy, store });
    const result = await resumed.start();
    expect(result.history[1]!.privacy!.epsilon).toBe(done.history[1]!.privacy!.epsilon);
    // Opacus, z 2, q 1, 3 steps: 4.0113.
    expect(result.history[2]!.privacy!.epsilon).toBeCloseTo(4.011321708510027, 9);
    expect(result.history[2]!.privacy!.clip).toBe(clip);
  });
});

describe('distributed differential privacy', () => {
  it('has each learner clip its update and add its share of the noise; the trainer only sums', async () => {
    const steppers = [new StepLearner([3, 4]), new StepLearner([0.3, 0]), new StepLearner([6, 8])];
    const federation = await federate(steppers, {
      rounds: 1,
      minClients: 3,
      initialWeights: { w: tensor([0, 0]) },
      strategy: dp({ noiseMultiplier: 1e-9, clip: 1, mode: 'distributed' }),
    });
    const result = await federation.start();
    // Clipped at the learners to (0.6, 0.8), (0.3, 0), (0.6, 0.8); their mean:
    expect(result.weights.w!.data[0]).toBeCloseTo(0.5, 5);
    expect(result.weights.w!.data[1]).toBeCloseTo(1.6 / 3, 5);
    // The learner's own train never saw the trainer's $privacy setting.
    for (const learner of steppers)
      expect(Object.hasOwn(learner.configs[0]!, PRIVACY_CONFIG_KEY)).toBe(false);
  });

  it('tells each learner the clip and a noise share of std z·C/sqrt(selected)', () => {
    const strategy = dp({ noiseMultiplier: 2, clip: 3, mode: 'distributed', expectedClients: 9 });
    const params = strategy.configureTrain(start(1), 'l');
    expect(params?.config[PRIVACY_CONFIG_KEY]).toEqual({ clip: 3, noiseStd: 2 });
  });

  it('counts less noise when fewer learners than expected added their share', () => {
    const strategy = dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed', expectedClients: 4 });
    const aggregation = strategy.aggregation(start(1));
    aggregation.add({ client: 'a', weights: { w: tensor([0]) }, numExamples: 1, metrics: {}, staleness: 0 });
    // One share of std 2/sqrt(4) = 1: z is 1 in the sum, not 2.
    expect(aggregation.result().privacy?.noiseMultiplier).toBe(1);
  });

  it('refuses adaptive clipping (the learners clip before the trainer could adapt it)', () => {
    expect(() => dp({ mode: 'distributed', clip: { initial: 1, countNoise: 1 } })).toThrow(
      /fixed number in distributed mode/,
    );
  });
});

describe('distributed differential privacy beside secure aggregation', () => {
  /**
   * Learners served as serveLearner serves them (the secure client trains through the privacy
   * wrapper), with seeded noise, and with what leaves the wrapper, clipped and noised, recorded:
   * the updates the masked sum must add up.
   */
  async function federateSecurely(
    learners: Learner[],
    options: Omit<FederationOptions, 'node'>,
    { byExamples = -1 } = {},
  ) {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(trainer);
    const sent: Weights[] = [];
    for (const [i, learner] of learners.entries()) {
      const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false });
      nodes.push(node);
      const served = withLearnerPrivacy(learner, seededRandom(100 + i)) as Learner;
      const recorded: Learner = {
        train: async (params) => {
          const result = await served.train(params);
          sent.push(result.weights);
          return result;
        },
        evaluate: (params) => served.evaluate(params),
        getWeights: () => served.getWeights(),
        setWeights: (w) => served.setWeights(w),
      };
      node.serve(recorded);
      const client = new SecureAggregationClient(recorded);
      // A learner that ignores equalWeights and weighs by its example count, as an old one would.
      if (i === byExamples) {
        const masked = client[MASKED_INPUT].bind(client);
        client[MASKED_INPUT] = (params) => masked({ ...params, equalWeights: false });
      }
      node.serve(client, { methods: SECURE_AGGREGATION_METHODS });
      await joinInMemory(trainer, node, { strict: true });
    }
    return { federation: new Federation({ node: trainer, ...options }), sent };
  }

  /** Trains, then fails: it drops out of the secure round after its masks were set up. */
  class FailingLearner extends StepLearner {
    override train(): TrainResult {
      throw new Error('gone');
    }
  }

  const secure = { clipRange: 10, maxExamples: 100, degree: 3, threshold: 2 };

  it('sums the clipped, noised updates weighed alike, and reports epsilon as the accountant does (Opacus: z 2, q 1)', async () => {
    // Example counts 10, 50, 10: weighed by them, the middle update would count five times.
    const steppers = [new StepLearner([3, 4]), new StepLearner([0.3, 0], 50), new StepLearner([6, 8])];
    const { federation, sent } = await federateSecurely(steppers, {
      rounds: 2,
      minClients: 3,
      initialWeights: { w: tensor([0, 0]) },
      strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed' }),
      secureAggregation: secure,
    });
    const result = await federation.start();
    expect(result.reason).toBe('completed');
    expect(sent).toHaveLength(6);
    // Round 1 started from 0: the plain sum of the three updates that left the learners.
    const plain = [0, 1].map((j) => sent.slice(0, 3).reduce((n, w) => n + w.w!.data[j]!, 0));
    const [round1] = result.history;
    expect(round1!.results).toBe(3);
    // The model is the noised sum over the 3 learners, each weighed 1.
    const levels = quantizationLevels(32, 3, 100);
    const tolerance = 3 * quantizationError(10, levels) + 1e-6;
    // Noise of std 2/sqrt(3) per learner: the sum is not the clipped updates' alone.
    expect(Math.abs(plain[0]! - 1.5) + Math.abs(plain[1]! - 1.6)).toBeGreaterThan(0.01);
    const round2Start = plain.map((v) => v / 3);
    const round2 = [0, 1].map(
      (j) => round2Start[j]! + sent.slice(3).reduce((n, w) => n + (w.w!.data[j]! - round2Start[j]!), 0) / 3,
    );
    for (const j of [0, 1]) expect(Math.abs(result.weights.w!.data[j]! - round2[j]!)).toBeLessThan(tolerance);
    // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657 after one step, 3.1890 after two.
    expect(result.history[0]!.privacy).toMatchObject({ noiseMultiplier: 2, clip: 1, sampleRate: 1 });
    expect(result.history[0]!.privacy!.epsilon).toBeCloseTo(2.1657156590294435, 9);
    expect(result.history[1]!.privacy!.epsilon).toBeCloseTo(3.188991562633588, 9);
  });

  it('counts only the survivors\u2019 noise shares: a learner that drops out lowers z to z·sqrt(3/4)', async () => {
    const learners = [
      new StepLearner([3, 4]),
      new StepLearner([0.3, 0]),
      new StepLearner([6, 8]),
      new FailingLearner([1, 1]),
    ];
    const { federation, sent } = await federateSecurely(learners, {
      rounds: 1,
      minClients: 4,
      minResults: 3,
      initialWeights: { w: tensor([0, 0]) },
      strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed' }),
      secureAggregation: secure,
    });
    const result = await federation.start();
    const [round] = result.history;
    expect(round!.results).toBe(3);
    expect(round!.failures.map((f) => f.client)).toEqual(['learner-3']);
    const z = 2 * Math.sqrt(3 / 4);
    const accountant = new RdpAccountant();
    accountant.step(z, 1);
    expect(round!.privacy!.noiseMultiplier).toBeCloseTo(z, 12);
    expect(round!.privacy!.epsilon).toBe(accountant.epsilon(1e-5));
    // The survivors' updates, summed plainly, over the 3 of them.
    const tolerance = 3 * quantizationError(10, quantizationLevels(32, 4, 100)) + 1e-6;
    for (const j of [0, 1]) {
      const mean = sent.reduce((n, w) => n + w.w!.data[j]!, 0) / 3;
      expect(Math.abs(result.weights.w!.data[j]! - mean)).toBeLessThan(tolerance);
    }
  });

  it('stops at the epsilon budget as without secure aggregation (Opacus, z 2: round 5 would pass 5)', async () => {
    const steppers = [new StepLearner([3, 4]), new StepLearner([0.3, 0]), new StepLearner([6, 8])];
    const { federation } = await federateSecurely(steppers, {
      rounds: 20,
      minClients: 3,
      initialWeights: { w: tensor([0, 0]) },
      strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed', budget: 5 }),
      secureAggregation: secure,
    });
    const result = await federation.start();
    expect(result.reason).toBe('budget');
    expect(result.rounds).toBe(4);
    expect(result.history[3]!.privacy!.epsilon).toBeCloseTo(4.728507067217623, 9);
  });

  it('fails the round, naming the unmasking, when the unmasked weight is not the survivors\u2019 count', async () => {
    const steppers = [new StepLearner([3, 4]), new StepLearner([0.3, 0]), new StepLearner([6, 8])];
    const { federation } = await federateSecurely(
      steppers,
      {
        rounds: 1,
        minClients: 3,
        initialWeights: { w: tensor([0, 0]) },
        strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed' }),
        secureAggregation: secure,
      },
      { byExamples: 1 },
    );
    await expect(federation.start()).rejects.toMatchObject({
      code: 'ROUND_FAILED',
      message: expect.stringMatching(/phase unmask: the unmasked weight is 12, not the 3 survivors/),
    });
  });

  it('is accepted by the federation in distributed mode, refused in central mode (the trainer cannot clip masked updates)', () => {
    const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(node);
    const secureAggregation = { clipRange: 1, maxExamples: 100 };
    expect(
      new Federation({ node, rounds: 1, strategy: dp({ mode: 'distributed' }), secureAggregation }),
    ).toBeInstanceOf(Federation);
    expect(
      () => new Federation({ node, rounds: 1, strategy: dp({ mode: 'central' }), secureAggregation }),
    ).toThrow(/secureAggregation cannot run with central privacy/);
  });
});
