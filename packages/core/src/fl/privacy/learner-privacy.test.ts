import { describe, expect, it } from 'vitest';
import { OiafedError } from '../../wire/errors.js';
import type { Learner, TrainParams, TrainResult } from '../learner.js';
import { seededRandom } from '../random.js';
import { tensor, type Weights } from '../weights.js';
import { PRIVACY_CONFIG_KEY, withLearnerPrivacy } from './learner-privacy.js';

/** Trains to a fixed model whatever it is sent, and remembers the config it saw. */
class Fixed implements Learner {
  seen: Record<string, unknown> | undefined;
  constructor(readonly model: Weights) {}
  train(params: TrainParams): TrainResult {
    this.seen = params.config;
    return { weights: this.model, numExamples: 5, metrics: { loss: 1 } };
  }
  evaluate() {
    return { numExamples: 5, metrics: { accuracy: 0.5 } };
  }
  getWeights() {
    return this.model;
  }
  setWeights() {
    // Fixed: nothing to set.
  }
  custom(x: number) {
    return x + 1;
  }
}

type Served = Record<string, (...args: unknown[]) => unknown>;
const params = (weights: Weights, config: Record<string, unknown>): TrainParams => ({
  round: 1,
  weights,
  config,
});

describe('withLearnerPrivacy (the learner side of distributed DP)', () => {
  it('clips the update to the trainer\u2019s clip and hides its setting from the learner', async () => {
    const learner = new Fixed({ w: tensor([4, 5]) });
    const served = withLearnerPrivacy(learner) as Served;
    const base = { w: tensor([1, 1]) };
    const result = (await served.train!(
      params(base, { lr: 0.1, [PRIVACY_CONFIG_KEY]: { clip: 1, noiseStd: 0 } }),
    )) as TrainResult;
    // The update (3, 4) has norm 5: clipped to (0.6, 0.8) and added back to the base.
    expect([...result.weights.w!.data]).toEqual([expect.closeTo(1.6, 6), expect.closeTo(1.8, 6)]);
    expect(result.numExamples).toBe(5);
    expect(learner.seen).toEqual({ lr: 0.1 });
  });

  it('adds noise of the std it is told: 50,000 values within 5 standard errors', async () => {
    const dims = 50_000;
    const base = { w: tensor(new Float32Array(dims)) };
    const served = withLearnerPrivacy(new Fixed(base), seededRandom(3)) as Served;
    const result = (await served.train!(
      params(base, { [PRIVACY_CONFIG_KEY]: { clip: 1, noiseStd: 0.7 } }),
    )) as TrainResult;
    const data = result.weights.w!.data;
    let sq = 0;
    for (const v of data) sq += v * v;
    const std = Math.sqrt(sq / dims);
    expect(Math.abs(std - 0.7)).toBeLessThan((5 * 0.7) / Math.sqrt(2 * dims));
    // The model it was sent is left as it was (shared in memory mode).
    expect(base.w.data.every((v) => v === 0)).toBe(true);
  });

  it('passes a request without the setting, and every other method, through unchanged', async () => {
    const learner = new Fixed({ w: tensor([4, 5]) });
    const served = withLearnerPrivacy(learner) as Served;
    const result = (await served.train!(params({ w: tensor([1, 1]) }, { lr: 1 }))) as TrainResult;
    expect([...result.weights.w!.data]).toEqual([4, 5]);
    expect(await served.evaluate!()).toEqual({ numExamples: 5, metrics: { accuracy: 0.5 } });
    expect(await served.custom!(1)).toBe(2);
  });

  it('refuses a malformed setting with a typed error, and a model that does not match the one sent', async () => {
    const served = withLearnerPrivacy(new Fixed({ w: tensor([4, 5]) })) as Served;
    const base = { w: tensor([1, 1]) };
    for (const bad of [
      null,
      'x',
      { clip: 0, noiseStd: 1 },
      { clip: 1, noiseStd: -1 },
      { clip: 1 },
      { clip: Infinity, noiseStd: 0 },
    ])
      await expect(served.train!(params(base, { [PRIVACY_CONFIG_KEY]: bad }))).rejects.toThrow(OiafedError);
    const mismatched = withLearnerPrivacy(new Fixed({ w: tensor([4, 5, 6]) })) as Served;
    await expect(
      mismatched.train!(params(base, { [PRIVACY_CONFIG_KEY]: { clip: 1, noiseStd: 0 } })),
    ).rejects.toThrow(/does not match/);
  });
});
