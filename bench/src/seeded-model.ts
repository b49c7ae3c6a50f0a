import type { Weights } from '@oiafed/core';

/**
 * A model of `params` float32 values in `layers` tensors, filled from a seed: each seed's differs,
 * so sorts, distances and sums do real work. The aggregation benchmarks share it.
 */
export function seededModel(seed: number, params: number, layers: number): Weights {
  const out: Weights = {};
  for (let l = 0; l < layers; l++) {
    const data = new Float32Array(params / layers);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761 + seed * 97 + l) % 1000) / 1000 - 0.5;
    out[`layer${l}`] = { shape: [data.length], data };
  }
  return out;
}
