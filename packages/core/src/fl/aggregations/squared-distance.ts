import type { Weights } from '../weights.js';

/** ||a − b||² over every parameter of two models of one layout, summed in double precision. */
export function squaredDistance(a: Weights, b: Weights): number {
  let sum = 0;
  for (const [name, { data: x }] of Object.entries(a)) {
    const y = b[name]!.data;
    for (let i = 0; i < x.length; i++) {
      const d = x[i]! - y[i]!;
      sum += d * d;
    }
  }
  return sum;
}
