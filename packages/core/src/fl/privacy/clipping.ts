import type { Weights } from '../weights.js';

/** The L2 norm of `weights - base` over every tensor (the size of a learner's update), in doubles. */
export function updateNorm(weights: Weights, base: Weights): number {
  let sum = 0;
  for (const [name, t] of Object.entries(base)) {
    const w = weights[name]!.data;
    const b = t.data;
    for (let i = 0; i < b.length; i++) {
      const d = w[i]! - b[i]!;
      sum += d * d;
    }
  }
  return Math.sqrt(sum);
}

/**
 * The factor that brings an update of L2 norm `norm` to at most `clip` (McMahan et al. 2018's
 * flat clipping): 1 for an update already within it, clip / norm otherwise.
 */
export function clipFactor(norm: number, clip: number): number {
  return norm > clip ? clip / norm : 1;
}

/** `acc += factor * (weights - base)`, tensor by tensor: a clipped update added to a running sum. */
export function addClippedUpdate(acc: Weights, weights: Weights, base: Weights, factor: number): void {
  for (const [name, t] of Object.entries(acc)) {
    const a = t.data;
    const w = weights[name]!.data;
    const b = base[name]!.data;
    for (let i = 0; i < a.length; i++) a[i]! += factor * (w[i]! - b[i]!);
  }
}

/** `weights - base`, clipped to L2 norm `clip`, as a new model-shaped update. */
export function clippedUpdate(weights: Weights, base: Weights, clip: number): Weights {
  const out = zerosLike(base);
  addClippedUpdate(out, weights, base, clipFactor(updateNorm(weights, base), clip));
  return out;
}

/** A model of `like`'s layout, all zeros. */
export function zerosLike(like: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(like))
    out[name] = { shape: [...t.shape], data: new Float32Array(t.data.length) };
  return out;
}
