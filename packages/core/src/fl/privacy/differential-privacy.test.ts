import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../../connect/join-in-memory.js';
import { Node } from '../../rpc/node.js';
import { OiafedError } from '../../wire/errors.js';
import { MemoryCheckpointStore } from '../checkpoint.js';
import { Federation, type FederationOptions } from '../federation.js';
import type { Learner } from '../learner.js';
import { LinearLearner, linearData, zeroLinearWeights } from '../linear-learner.test-support.js';
import { serveLearner } from '../serve-learner.js';
import { Krum } from '../strategies/robust.js';
import { FedAvgM } from '../strategies/server-optimized.js';
import type { RoundStart } from '../strategy.js';
import { tensor, type Weights } from '../weights.js';
import { PRIVACY_CONFIG_KEY } from './learner-privacy.js';
import type { DifferentialPrivacyOptions } from './privacy-options.js';
import { dp, StepLearner } from './privacy.test-support.js';

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
