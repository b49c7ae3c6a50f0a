import { Strategy, WeightedMean, tensor } from '@oiafed/core';
import type { Aggregation, RoundStart, Weights } from '@oiafed/core';

/** A strategy of one's own: every learner's model counts the same, and the run starts from zeros. */
export class EqualWeights extends Strategy {
  readonly name = 'equal-weights';

  override initialWeights(): Weights {
    return { w: tensor([0]), b: tensor([0]) };
  }

  override aggregation(_start: RoundStart): Aggregation {
    const mean = new WeightedMean();
    return {
      keepsUpdates: false,
      add: (update) => mean.add(update.weights, 1),
      result: () => ({ weights: mean.result(), rejected: [] }),
    };
  }
}
