import {
  tensor,
  type EvaluateParams,
  type EvaluateResult,
  type Learner,
  type TrainParams,
  type TrainResult,
  type Weights,
} from '@oiafed/core';

/**
 * A learner that pulls the model a step toward its own point (a 4-value vector drawn from its
 * index), reporting the squared distance as its loss; its training takes `ms`, as a device's
 * would, so that rounds are slow enough to watch and pause. The first model is its point.
 */
export class SlowLearner implements Learner {
  readonly #target: Float32Array;

  constructor(
    index: number,
    readonly ms = 120,
  ) {
    this.#target = Float32Array.from({ length: 4 }, (_, i) => Math.sin(index * 7 + i) * 2);
  }

  async train({ weights, config }: TrainParams): Promise<TrainResult> {
    await new Promise((resolve) => setTimeout(resolve, this.ms));
    const lr = typeof config.lr === 'number' ? config.lr : 0.1;
    const w = weights.w!.data;
    const next = w.map((v, i) => v + lr * 4 * (this.#target[i]! - v));
    return { weights: { w: tensor(next, [4]) }, numExamples: 40, metrics: { loss: this.#loss(next) } };
  }

  evaluate({ weights }: EvaluateParams): EvaluateResult {
    return { numExamples: 40, metrics: { loss: this.#loss(weights.w!.data) } };
  }

  getWeights(): Weights {
    return { w: tensor(new Float32Array(4), [4]) };
  }

  setWeights(): void {
    // Each round's model comes with its train call.
  }

  #loss(w: Float32Array): number {
    return w.reduce((sum, v, i) => sum + (v - this.#target[i]!) ** 2, 0) / w.length;
  }
}
