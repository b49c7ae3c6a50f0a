import type { Aggregation } from '../aggregation.js';
import {
  CenteredClippingAggregation,
  type CenteredClippingOptions,
} from '../aggregations/centered-clipping.js';
import { MedianAggregation } from '../aggregations/coordinate-median.js';
import { KrumAggregation, type KrumOptions } from '../aggregations/krum.js';
import { TrimmedMeanAggregation, type TrimmedMeanOptions } from '../aggregations/trimmed-mean.js';
import type { RoundStart } from '../strategy.js';
import { FedAvg } from './fedavg.js';

/**
 * Strategies for learners that may lie (Byzantine-robust aggregation): FedAvg's rounds with an
 * aggregation that bounds what a few bad updates can do. Each keeps the round's updates (one model
 * per learner) until the last arrives, since none of these can be computed as a running sum.
 */

/** Coordinate-wise median (Yin et al. 2018; Flower's FedMedian). */
export class FedMedian extends FedAvg {
  override readonly name: string = 'fedmedian';

  override aggregation(): Aggregation {
    return new MedianAggregation();
  }
}

/** Coordinate-wise trimmed mean, `beta` cut from each end (Yin et al. 2018; Flower's FedTrimmedAvg). */
export class FedTrimmedAvg extends FedAvg {
  override readonly name: string = 'fedtrimmedavg';

  constructor(readonly options: TrimmedMeanOptions = {}) {
    super();
    // Made once here so that wrong options fail when the strategy is made, not at its first round.
    new TrimmedMeanAggregation(options);
  }

  override aggregation(): Aggregation {
    return new TrimmedMeanAggregation(this.options);
  }
}

/** Krum and multi-Krum (Blanchard et al. 2017): the updates nearest their neighbours; the rest rejected and named. */
export class Krum extends FedAvg {
  override readonly name: string = 'krum';

  constructor(readonly options: KrumOptions) {
    super();
    new KrumAggregation(options);
  }

  override aggregation(): Aggregation {
    return new KrumAggregation(this.options);
  }
}

/** Centered clipping (Karimireddy et al. 2021) around the global model the round started from. */
export class CenteredClipping extends FedAvg {
  override readonly name: string = 'centeredclipping';

  constructor(readonly options: CenteredClippingOptions) {
    super();
    new CenteredClippingAggregation({}, options);
  }

  override aggregation(start: RoundStart): Aggregation {
    return new CenteredClippingAggregation(start.weights, this.options);
  }
}
