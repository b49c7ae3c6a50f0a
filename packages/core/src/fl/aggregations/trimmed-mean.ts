// Follows Flower's FedTrimmedAvg: `_trim_mean` / `aggregate_trimmed_avg` in
// framework/py/flwr/server/strategy/aggregate.py (scipy's trim_mean: int(beta * n) values cut from each end).
import { OiafedError } from '../../wire/errors.js';
import type { Aggregate, Aggregation, ClientUpdate } from '../aggregation.js';
import { KeptUpdates } from './kept-updates.js';
import { trimmedCoordinateMean } from './trimmed-coordinate-mean.js';

export interface TrimmedMeanOptions {
  /** Fraction of the clients cut from EACH end of every coordinate, in [0, 0.5). Default 0.2, as Flower's. */
  beta?: number;
}

/**
 * Coordinate-wise trimmed mean (Yin et al. 2018): each parameter is the mean of the clients' values
 * left after dropping the floor(beta·n) lowest and floor(beta·n) highest. Unweighted, as Flower's.
 */
export class TrimmedMeanAggregation implements Aggregation {
  readonly keepsUpdates = true;
  readonly beta: number;
  readonly #updates = new KeptUpdates();

  constructor(options: TrimmedMeanOptions = {}) {
    const beta = options.beta ?? 0.2;
    if (!(beta >= 0 && beta < 0.5))
      throw new OiafedError(
        'INVALID_CONFIG',
        `trimmed mean: beta must be a number in [0, 0.5) (got ${beta})`,
      );
    this.beta = beta;
  }

  add(update: ClientUpdate): void {
    this.#updates.add(update);
  }

  result(): Aggregate {
    const models = this.#updates.take().map((u) => u.weights);
    // Math.trunc of the same double product as Python's int(): beta 0.3 of 10 cuts 3, 0.2 of 4 cuts none.
    // beta < 0.5 leaves at least one value: trunc(beta·n) < n/2.
    return { weights: trimmedCoordinateMean(models, Math.trunc(this.beta * models.length)), rejected: [] };
  }
}
