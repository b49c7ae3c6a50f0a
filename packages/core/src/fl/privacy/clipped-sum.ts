import type { Weights } from '../weights.js';
import { addClippedUpdate, clipFactor, updateNorm, zerosLike } from './clipping.js';

/**
 * The running sum of a round's updates (each learner's model minus the global one), each clipped
 * to L2 norm `clip` first, or taken as sent when `clip` is undefined (distributed DP: the learners
 * clipped). One model of memory however many updates arrive.
 */
export class ClippedSum {
  readonly sum: Weights;
  /** Updates added. */
  count = 0;
  /** Updates whose norm was within the clip (adaptive clipping counts them). */
  unclipped = 0;
  readonly #base: Weights;
  readonly #clip: number | undefined;

  constructor(base: Weights, clip: number | undefined) {
    this.#base = base;
    this.#clip = clip;
    this.sum = zerosLike(base);
  }

  add(weights: Weights): void {
    const clip = this.#clip;
    let factor = 1;
    if (clip !== undefined) {
      const norm = updateNorm(weights, this.#base);
      factor = clipFactor(norm, clip);
      if (norm <= clip) this.unclipped += 1;
    }
    addClippedUpdate(this.sum, weights, this.#base, factor);
    this.count += 1;
  }
}
