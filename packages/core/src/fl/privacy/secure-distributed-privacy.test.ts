import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../../connect/join-in-memory.js';
import { Node } from '../../rpc/node.js';
import { Federation, type FederationOptions } from '../federation.js';
import type { Learner, TrainResult } from '../learner.js';
import { seededRandom } from '../random.js';
import { tensor, type Weights } from '../weights.js';
import { withLearnerPrivacy } from './learner-privacy.js';
import { RdpAccountant } from './rdp-accountant.js';
import { SecureAggregationClient } from '../secure/learner-side.js';
import { MASKED_INPUT, SECURE_AGGREGATION_METHODS } from '../secure/messages.js';
import { quantizationError, quantizationLevels } from '../secure/quantize.js';
import { dp, StepLearner } from './privacy.test-support.js';

const nodes: Node[] = [];
afterEach(() => {
  nodes.splice(0).forEach((n) => n.close());
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
    { byExamples = -1, inflates = -1 } = {},
  ) {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(trainer);
    const sent: Weights[] = [];
    /** Whose each of `sent` is. */
    const senders: number[] = [];
    for (const [i, learner] of learners.entries()) {
      const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false });
      nodes.push(node);
      const served = withLearnerPrivacy(learner, seededRandom(100 + i)) as Learner;
      const recorded: Learner = {
        train: async (params) => {
          const result = await served.train(params);
          sent.push(result.weights);
          senders.push(i);
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
      // A hostile one that weighs its levels by its examples but declares the weight 1 it was asked:
      // the lie is inside the masked words, where no one can see it.
      if (i === inflates) {
        const masked = client[MASKED_INPUT].bind(client);
        client[MASKED_INPUT] = async (params) => {
          const honest = await masked({ ...params, equalWeights: false });
          const vector = honest.masked.slice();
          vector[vector.length - 1] = 1;
          return { ...honest, masked: vector };
        };
      }
      node.serve(client, { methods: SECURE_AGGREGATION_METHODS });
      await joinInMemory(trainer, node, { strict: true });
    }
    return { federation: new Federation({ node: trainer, ...options }), sent, senders };
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

  it('leaves out a learner that ignores equalWeights (its clear weight gives it away) and sums the others', async () => {
    // Four, so that the three left hold two shares (the threshold) of each other's self masks.
    const steppers = [1, 2, 3, 4].map((k) => new StepLearner([0.1 * k, -0.2 * k]));
    const { federation, sent, senders } = await federateSecurely(
      steppers,
      {
        rounds: 1,
        minClients: 4,
        minResults: 3,
        initialWeights: { w: tensor([0, 0]) },
        strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed' }),
        secureAggregation: secure,
      },
      { byExamples: 1 },
    );
    const announced: { client: string; code: string; message: string }[] = [];
    federation.events.on('CLIENT_FAILED', (f) => announced.push(f));
    const result = await federation.start();
    const [round] = result.history;
    expect(round!.results).toBe(3);
    expect(announced).toEqual([
      expect.objectContaining({
        client: 'learner-1',
        code: 'INVALID_RESULT',
        message: expect.stringMatching(/weighs 10, not 1 \(equalWeights/),
      }),
    ]);
    // Refused before it joined the sum, it counts as dropped: the model is the other two's mean.
    const tolerance = 3 * quantizationError(10, quantizationLevels(32, 4, 100)) + 1e-6;
    expect(sent).toHaveLength(4);
    const kept = sent.filter((_, k) => senders[k] !== 1);
    for (const j of [0, 1]) {
      const mean = kept.reduce((n, w) => n + w.w!.data[j]!, 0) / 3;
      expect(Math.abs(result.weights.w!.data[j]! - mean)).toBeLessThan(tolerance);
    }
  });

  it('bounds a learner that lies inside its masked levels: the round completes and each value of the mean stays within the clip range', async () => {
    // Steps of 1 in a clip range of 10: each value's level is 11/20 of the top one, and 50 times it
    // wraps no sum but makes one far past what three learners' levels can add up to.
    const steppers = [new StepLearner([1, 1]), new StepLearner([1, 1], 50), new StepLearner([1, 1])];
    const { federation } = await federateSecurely(
      steppers,
      {
        rounds: 1,
        minClients: 3,
        initialWeights: { w: tensor([0, 0]) },
        strategy: dp({ noiseMultiplier: 0.01, clip: 2, mode: 'distributed' }),
        secureAggregation: secure,
      },
      { inflates: 1 },
    );
    const result = await federation.start();
    expect(result.history[0]!.results).toBe(3);
    // Unclamped, the mean update would be about (1 + 1 + 50 x 11)/3 x 20/20 - 10 x 49/3, about 180.
    for (const v of result.weights.w!.data) expect(Math.abs(v)).toBeLessThanOrEqual(secure.clipRange + 0.01);
  });

  it('counts in the summary the examples its learners trained on, as the same run without secure aggregation does', async () => {
    // Weighed alike, yet 10 + 50 + 10 examples: not 3, the count of learners the sum's weight holds.
    const steppers = () => [new StepLearner([3, 4]), new StepLearner([0.3, 0], 50), new StepLearner([6, 8])];
    const options = {
      rounds: 1,
      minClients: 3,
      initialWeights: { w: tensor([0, 0]) },
      strategy: dp({ noiseMultiplier: 2, clip: 1, mode: 'distributed' }),
    };
    const secured = await federateSecurely(steppers(), { ...options, secureAggregation: secure });
    const [round] = (await secured.federation.start()).history;
    expect(round).toMatchObject({ results: 3, numExamples: 70 });
    const plain = await federateSecurely(steppers(), { ...options, strategy: dp({ mode: 'distributed' }) });
    expect((await plain.federation.start()).history[0]!.numExamples).toBe(round!.numExamples);
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
