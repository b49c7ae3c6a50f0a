import { describe, expect, it } from 'vitest';
import type { TrainParams, Weights } from '@oiafed/core';
import { partition, trainTestSplit } from './mnist.js';
import { loadMnist } from './mnist-node.js';
import { MnistLearner } from './mnist-learner.js';
import { ModelPool } from './model-pool.js';
import { createModel, modelWeights, useBackend } from './model.js';

const params = (weights: Weights): TrainParams => ({
  round: 1,
  weights,
  config: { epochs: 1, batchSize: 10, lr: 0.05 },
});

/** How many values differ between two sets of weights of one layout (matchers on 160k-value arrays crawl). */
function differingValues(a: Weights, b: Weights): number {
  let differing = 0;
  for (const [name, tensor] of Object.entries(b)) {
    const other = a[name]!.data;
    expect(other.length).toBe(tensor.data.length);
    for (let i = 0; i < other.length; i++) if (other[i] !== tensor.data[i]) differing += 1;
  }
  return differing;
}

describe('learners sharing a model pool', () => {
  it('report starting weights, train and evaluate exactly as learners with models of their own, with at most the pool size of models', async () => {
    await useBackend('cpu');
    const { train, test } = trainTestSplit(loadMnist(), 300, 100, 1);
    const shards = partition(train, 3, 'iid', 1);
    const start = createModel(7);
    const weights = modelWeights(start);
    start.dispose();
    const pool = new ModelPool(1);
    const own = shards.map((shard, i) => new MnistLearner(shard, 100 + i));
    const pooled = shards.map((shard, i) => new MnistLearner(shard, 100 + i, { models: pool }));
    // Before training, a learner's weights are its seeded starting model, pooled or not.
    for (let i = 0; i < 3; i++)
      expect(differingValues(pooled[i]!.getWeights(), own[i]!.getWeights())).toBe(0);
    // All three at once: they take turns with the one model.
    const [mine, shared] = await Promise.all([
      Promise.all(own.map((l) => l.train(params(weights)))),
      Promise.all(pooled.map((l) => l.train(params(weights)))),
    ]);
    expect(pool.created).toBe(1);
    for (let i = 0; i < 3; i++) {
      expect(shared[i]!.metrics).toEqual(mine[i]!.metrics);
      expect(differingValues(shared[i]!.weights, mine[i]!.weights)).toBe(0);
      expect(await pooled[i]!.evaluate({ round: 1, weights, config: {} })).toEqual(
        await own[i]!.evaluate({ round: 1, weights, config: {} }),
      );
    }
    pooled[0]!.setWeights(weights);
    expect(pooled[0]!.getWeights()).toBe(weights);
    expect(test.count).toBe(100);
    pool.dispose();
  });
});
