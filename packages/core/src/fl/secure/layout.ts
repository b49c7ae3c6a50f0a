import type { Weights } from '../weights.js';

/** Where each tensor of a model sits in the flat vector SecAgg masks: names sorted, so both ends agree. */
export interface FlatLayout {
  readonly tensors: readonly { name: string; offset: number; length: number }[];
  /** Values in all. */
  readonly size: number;
  /** Values in the largest tensor. */
  readonly largest: number;
}

export function flatLayout(weights: Weights): FlatLayout {
  const tensors: { name: string; offset: number; length: number }[] = [];
  let size = 0;
  let largest = 0;
  for (const name of Object.keys(weights).sort()) {
    const length = weights[name]!.data.length;
    tensors.push({ name, offset: size, length });
    size += length;
    largest = Math.max(largest, length);
  }
  return { tensors, size, largest };
}
