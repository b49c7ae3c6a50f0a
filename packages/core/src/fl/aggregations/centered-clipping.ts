// Flower has no centered clipping: follows the paper's rule as the authors' `Clipping` aggregator
// writes it (epfml/byzantine-robust-optimizer, codes/aggregator/clipping.py), centred on a given model.
import { OiafedError } from '../../wire/errors.js';
import type { Aggregate, Aggregation, ClientUpdate } from '../aggregation.js';
import { cloneWeights, type Weights } from '../weights.js';
import { KeptUpdates } from './kept-updates.js';
import { squaredDistance } from './squared-distance.js';

export interface CenteredClippingOptions {
  /** τ: the largest distance (L2 over the whole model) an update may move the model by. */
  tau: number;
  /** Clipping passes, each re-centred on the last one's result. Default 1. */
  iterations?: number;
}

/**
 * Centered clipping (Karimireddy et al. 2021, "Learning from History for Byzantine Robust
 * Optimization"): starting from a reference point v (the previous global model), repeat
 * v ← v + mean_i((x_i − v) · min(1, τ / ||x_i − v||)). No update is left out: a far one is shrunk
 * to length τ, so it can move the model by at most τ / n. Unweighted, as in the paper.
 */
export class CenteredClippingAggregation implements Aggregation {
  readonly keepsUpdates = true;
  readonly tau: number;
  readonly iterations: number;
  readonly #reference: Weights;
  readonly #updates: KeptUpdates;

  /** `reference` is only read: the model starts from a copy of it. */
  constructor(reference: Weights, options: CenteredClippingOptions) {
    const { tau, iterations = 1 } = options;
    if (!(tau > 0) || !Number.isFinite(tau))
      throw new OiafedError(
        'INVALID_CONFIG',
        `centered clipping: tau must be a positive number (got ${tau})`,
      );
    if (!Number.isSafeInteger(iterations) || iterations < 1)
      throw new OiafedError(
        'INVALID_CONFIG',
        `centered clipping: iterations must be a positive integer (got ${iterations})`,
      );
    this.tau = tau;
    this.iterations = iterations;
    this.#reference = reference;
    this.#updates = new KeptUpdates(reference);
  }

  add(update: ClientUpdate): void {
    this.#updates.add(update);
  }

  result(): Aggregate {
    const models = this.#updates.take().map((u) => u.weights);
    const n = models.length;
    const v = cloneWeights(this.#reference);
    for (let pass = 0; pass < this.iterations; pass++) {
      // τ / 0 is Infinity: an update at v is kept whole (and moves nothing).
      const scale = models.map((x) => Math.min(1, this.tau / Math.sqrt(squaredDistance(x, v))));
      for (const [name, { data }] of Object.entries(v)) {
        const sources = models.map((x) => x[name]!.data);
        for (let j = 0; j < data.length; j++) {
          const centre = data[j]!;
          let sum = 0;
          for (let i = 0; i < n; i++) sum += scale[i]! * (sources[i]![j]! - centre);
          data[j] = centre + sum / n;
        }
      }
    }
    return { weights: v, rejected: [] };
  }
}
