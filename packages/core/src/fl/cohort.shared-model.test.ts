import { afterEach, describe, expect, it } from 'vitest';
import { sharedValueStats, anyShared } from '../wire/shared-values.js';
import { fixed, federationMaker } from './federation.test-support.js';
import { tensor } from './weights.js';

const { nodes, federate } = federationMaker();
afterEach(() => {
  for (const node of nodes.splice(0)) node.close();
});

describe('a round over links that encode', () => {
  it('encodes the model it sends to every learner once per round, and lets go of it after', async () => {
    const learners = Array.from({ length: 6 }, (_, i) => fixed([i, 2 * i], i, 1 + i));
    const { federation } = await federate(learners, {
      rounds: 3,
      minClients: learners.length,
      initialWeights: { w: tensor([0, 0], [2]), b: tensor([0], [1]) },
    });
    const encodes: number[] = [];
    let before = sharedValueStats.encodes;
    federation.events.on('ROUND_FINISHED', () => {
      encodes.push(sharedValueStats.encodes - before);
      before = sharedValueStats.encodes;
    });
    await federation.start();
    expect(encodes).toEqual([1, 1, 1]);
    expect(anyShared()).toBe(false);
    // The model is the example-weighted mean, as without sharing: w = sum(n_i * [i, 2i]) / sum(n_i).
    const n = learners.map((l) => l.numExamples);
    const total = n.reduce((a, b) => a + b, 0);
    const mean = n.reduce((a, ni, i) => a + ni * i, 0) / total;
    expect([...federation.weights!.w!.data]).toEqual([expect.closeTo(mean, 5), expect.closeTo(2 * mean, 5)]);
  });
});
