import { OiafedError } from '../wire/errors.js';
import type { Aggregate, Aggregation, ClientUpdate } from './aggregation.js';
import type { Metrics, Weights } from './weights.js';

/**
 * The example-weighted mean of model updates, accumulated as each update arrives: memory stays one
 * model (the running sum) however many clients report, and an update can be dropped once added.
 */
export class WeightedMean {
  #sum: Map<string, { shape: number[]; data: Float32Array }> | undefined;
  #total = 0;
  #count = 0;
  #done = false;

  get count(): number {
    return this.#count;
  }

  get totalWeight(): number {
    return this.#total;
  }

  add(weights: Weights, weight: number): void {
    if (this.#done) throw new Error('WeightedMean.result() was already taken');
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new OiafedError('INVALID_CONFIG', `update weight must be a positive number (got ${weight})`);
    if (!this.#sum) {
      this.#sum = new Map();
      for (const [name, t] of Object.entries(weights))
        this.#sum.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
    }
    for (const [name, acc] of this.#sum) {
      const update = weights[name];
      if (update?.data.length !== acc.data.length)
        throw new OiafedError('INVALID_CONFIG', `update tensor ${name} does not match the model layout`);
      accumulate(acc.data, update.data, weight);
    }
    this.#total += weight;
    this.#count += 1;
  }

  /** The mean, computed in place in the running sum (no second copy). The accumulator is spent. */
  result(): Weights {
    if (!this.#sum || this.#total === 0) throw new OiafedError('ROUND_FAILED', 'no update to average');
    this.#done = true;
    const out: Weights = {};
    const inv = 1 / this.#total;
    for (const [name, acc] of this.#sum) {
      const d = acc.data;
      for (let i = 0; i < d.length; i++) d[i] = d[i]! * inv;
      out[name] = acc;
    }
    return out;
  }
}

/** `acc += w * x`: the one hot loop of aggregation, kept monomorphic on Float32Array. */
export function accumulate(acc: Float32Array, x: Float32Array, w: number): void {
  const n = acc.length;
  for (let i = 0; i < n; i++) acc[i]! += w * x[i]!;
}

/** Example-weighted mean of each metric over the results that report it. */
export function weightedMetrics(parts: readonly { numExamples: number; metrics?: Metrics }[]): Metrics {
  const sums: Record<string, number> = {};
  const weights: Record<string, number> = {};
  for (const { numExamples, metrics } of parts) {
    for (const [key, value] of Object.entries(metrics ?? {})) {
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      sums[key] = (sums[key] ?? 0) + value * numExamples;
      weights[key] = (weights[key] ?? 0) + numExamples;
    }
  }
  const out: Metrics = {};
  for (const key of Object.keys(sums)) if (weights[key]! > 0) out[key] = sums[key]! / weights[key]!;
  return out;
}

/** FedAvg's aggregation: the streaming example-weighted mean, one model of memory for any number of updates. */
export class WeightedMeanAggregation implements Aggregation {
  readonly keepsUpdates = false;
  readonly #mean = new WeightedMean();

  add(update: ClientUpdate): void {
    this.#mean.add(update.weights, update.numExamples);
  }

  result(): Aggregate {
    return { weights: this.#mean.result(), rejected: [] };
  }
}
