import { OiafedError } from '../wire/errors.js';
import type { Aggregate, Aggregation, ClientUpdate } from './aggregation.js';
import type { CompressedUpdate } from './codecs/encoded-weights.js';
import { addDecoded, encodedMaxAbs } from './codecs/tensor-codec.js';
import { maxAbs, type Metrics, type Weights } from './weights.js';

/**
 * Largest |value| the running sum may reach: float32 ends at 3.4e38, and the sum's float32 additions
 * round. No honest sum comes near (a billion examples times values of 1e6 is 1e15); a learner's
 * finite update weighed by its example count can pass it, and an infinite sum cannot be taken back.
 */
export const SUM_LIMIT = 1e38;

/**
 * The example-weighted mean of model updates, accumulated as each update arrives: memory stays one
 * model (the running sum) however many clients report, and an update can be dropped once added.
 * An update that could take the sum past SUM_LIMIT is refused (INVALID_RESULT) before it is added.
 */
export class WeightedMean {
  #sum: Map<string, { shape: number[]; data: Float32Array }> | undefined;
  #total = 0;
  #count = 0;
  #done = false;
  /**
   * The model compressed updates are deltas from, and the weight it is still to be added with: a
   * round's compressed updates share one base, so it is added once at the end, and a top-k update
   * costs O(k), not O(model).
   */
  #base: Weights | undefined;
  #baseWeight = 0;
  /** maxAbs of `#base`'s values. */
  #baseMax = 0;
  /** The sum of weight x max|value| over the updates added: a bound on every |value| of the sum. */
  #bound = 0;

  get count(): number {
    return this.#count;
  }

  get totalWeight(): number {
    return this.#total;
  }

  add(weights: Weights, weight: number): void {
    const sum = this.#begin(weights, weight);
    let max = 0;
    for (const name of sum.keys()) max = Math.max(max, maxAbs(weights[name]?.data ?? EMPTY));
    this.#admit(weight, max);
    for (const [name, acc] of sum) {
      const update = weights[name];
      if (update?.data.length !== acc.data.length)
        throw new OiafedError('INVALID_CONFIG', `update tensor ${name} does not match the model layout`);
      accumulate(acc.data, update.data, weight);
    }
    this.#total += weight;
    this.#count += 1;
  }

  /** Adds `update.base + decoded delta` with `weight`, decoding straight into the sum (checked before). */
  addCompressed(update: CompressedUpdate, weight: number): void {
    const sum = this.#begin(update.base, weight);
    if (this.#base === undefined) this.#baseMax = weightsMaxAbs(update.base);
    let max = update.base === (this.#base ?? update.base) ? this.#baseMax : weightsMaxAbs(update.base);
    for (const t of Object.values(update.tensors)) max += encodedMaxAbs(t);
    this.#admit(weight, max);
    for (const [name, acc] of sum) {
      const base = update.base[name];
      const delta = update.tensors[name];
      if (base?.data.length !== acc.data.length || !delta)
        throw new OiafedError('INVALID_CONFIG', `update tensor ${name} does not match the model layout`);
      addDecoded(acc.data, delta, weight, update.settings);
    }
    this.#base ??= update.base;
    if (update.base === this.#base) this.#baseWeight += weight;
    else for (const [name, acc] of sum) accumulate(acc.data, update.base[name]!.data, weight);
    this.#total += weight;
    this.#count += 1;
  }

  /** Counts an update of `weight` whose values reach `max` into the bound, or refuses it. */
  #admit(weight: number, max: number): void {
    const bound = this.#bound + weight * max;
    if (!(bound <= SUM_LIMIT))
      throw new OiafedError(
        'INVALID_RESULT',
        `an update of ${weight} examples with values up to ${max} would take the running sum past ${SUM_LIMIT} (float32 ends at 3.4e38)`,
      );
    this.#bound = bound;
  }

  #begin(layout: Weights, weight: number): Map<string, { shape: number[]; data: Float32Array }> {
    if (this.#done) throw new Error('WeightedMean.result() was already taken');
    if (!(weight > 0) || !Number.isFinite(weight))
      throw new OiafedError('INVALID_CONFIG', `update weight must be a positive number (got ${weight})`);
    if (!this.#sum) {
      this.#sum = new Map();
      for (const [name, t] of Object.entries(layout))
        this.#sum.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
    }
    return this.#sum;
  }

  /** The mean, computed in place in the running sum (no second copy). The accumulator is spent. */
  result(): Weights {
    if (!this.#sum || this.#total === 0) throw new OiafedError('ROUND_FAILED', 'no update to average');
    this.#done = true;
    if (this.#base && this.#baseWeight > 0)
      for (const [name, acc] of this.#sum) accumulate(acc.data, this.#base[name]!.data, this.#baseWeight);
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

const EMPTY = new Float32Array(0);

function weightsMaxAbs(weights: Weights): number {
  let max = 0;
  for (const t of Object.values(weights)) max = Math.max(max, maxAbs(t.data));
  return max;
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
  readonly acceptsCompressed = true;
  readonly #mean = new WeightedMean();

  add(update: ClientUpdate): void {
    if (update.compressed) this.#mean.addCompressed(update.compressed, update.numExamples);
    else this.#mean.add(update.weights, update.numExamples);
  }

  result(): Aggregate {
    return { weights: this.#mean.result(), rejected: [] };
  }
}
