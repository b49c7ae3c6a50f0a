// Follows Flower's FedMedian: `aggregate_median` in framework/py/flwr/server/strategy/aggregate.py
// (np.median over the clients, axis 0: unweighted, the mean of the two middle values for an even count).
import type { Aggregate, Aggregation, ClientUpdate } from '../aggregation.js';
import { KeptUpdates } from './kept-updates.js';
import { trimmedCoordinateMean } from './trimmed-coordinate-mean.js';

/**
 * Coordinate-wise median (Yin et al. 2018, "Byzantine-Robust Distributed Learning"): each parameter
 * is the median of the clients' values for it, so fewer than half the clients cannot drag it
 * outside the range of the honest ones. Unweighted: a client's claimed example count buys nothing.
 */
export class MedianAggregation implements Aggregation {
  readonly keepsUpdates = true;
  readonly #updates = new KeptUpdates();

  add(update: ClientUpdate): void {
    this.#updates.add(update);
  }

  result(): Aggregate {
    const models = this.#updates.take().map((u) => u.weights);
    return { weights: trimmedCoordinateMean(models, Math.floor((models.length - 1) / 2)), rejected: [] };
  }
}
