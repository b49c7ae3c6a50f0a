import type * as tf from '@tensorflow/tfjs';
import { createModel } from './model.js';

/**
 * A few 2NN models that many learners on one thread borrow for each call. A learner's model is
 * scratch space (each call sets the weights it is given), and one thread computes one learner at a
 * time anyway, so 1,000 learners in a tab need a few models, not 1,000 (about 1.6 MB each with
 * their gradients, more than a tab's wasm memory holds).
 */
export class ModelPool {
  readonly #size: number;
  readonly #free: tf.Sequential[] = [];
  readonly #waiting: ((model: tf.Sequential) => void)[] = [];
  #created = 0;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`pool size must be a positive integer (got ${size})`);
    this.#size = size;
  }

  /** Runs `fn` with a model of the pool, waiting for one to be free; the model goes back after. */
  async use<T>(fn: (model: tf.Sequential) => T | Promise<T>): Promise<T> {
    const model = await this.#acquire();
    try {
      return await fn(model);
    } finally {
      this.#release(model);
    }
  }

  /** Models made so far (at most the pool's size). */
  get created(): number {
    return this.#created;
  }

  dispose(): void {
    this.#free.splice(0).forEach((model) => model.dispose());
  }

  #acquire(): Promise<tf.Sequential> {
    const free = this.#free.pop();
    if (free) return Promise.resolve(free);
    if (this.#created < this.#size) {
      this.#created += 1;
      return Promise.resolve(createModel(this.#created));
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(model: tf.Sequential): void {
    const next = this.#waiting.shift();
    if (next) next(model);
    else this.#free.push(model);
  }
}
