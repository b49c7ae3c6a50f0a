import type { ClientUpdate } from '../aggregation.js';
import type { Weights } from '../weights.js';

/** A validated update as the cohort hands it over: one-dimensional tensors from plain numbers. */
export function clientUpdate(
  client: string,
  tensors: Record<string, readonly number[]>,
  numExamples = 1,
): ClientUpdate {
  return { client, weights: model(tensors), numExamples, metrics: {}, staleness: 0 };
}

export function model(tensors: Record<string, readonly number[]>): Weights {
  const weights: Weights = {};
  for (const [name, values] of Object.entries(tensors))
    weights[name] = { shape: [values.length], data: Float32Array.from(values) };
  return weights;
}

/** A model's values as plain numbers, rounded to float32 as stored, for `toEqual` against numbers written out. */
export function values(weights: Weights): Record<string, number[]> {
  return Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, Array.from(t.data)]));
}

/** `expected` as the float32 values an aggregation stores. */
export function asStored(expected: Record<string, readonly number[]>): Record<string, number[]> {
  return values(model(expected));
}
