import type {
  EvaluateParams,
  EvaluateResult,
  Learner,
  TrainParams,
  TrainResult,
  Weights,
} from '@oiafed/core';
import { tensor } from '@oiafed/core';

/** Points of the line y = 3x - 2 that this learner holds: its own stretch of x, so learners differ. */
function localData(shard: number): { x: number[]; y: number[] } {
  const x = Array.from({ length: 20 }, (_, i) => shard / 2 + i / 20);
  return { x, y: x.map((v) => 3 * v - 2) };
}

/** Least squares on a line, by full-batch gradient descent: the smallest learner that really learns. */
export class LinearLearner implements Learner {
  readonly #data: { x: number[]; y: number[] };
  #weights: Weights = { w: tensor([0]), b: tensor([0]) };

  constructor(shard: number) {
    this.#data = localData(shard);
  }

  train({ weights, config }: TrainParams): TrainResult {
    const lr = typeof config.lr === 'number' ? config.lr : 0.05;
    const epochs = typeof config.epochs === 'number' ? config.epochs : 1;
    let w = weights.w!.data[0]!;
    let b = weights.b!.data[0]!;
    const { x, y } = this.#data;
    for (let epoch = 0; epoch < epochs; epoch++) {
      let dw = 0;
      let db = 0;
      x.forEach((xi, i) => {
        const error = w * xi + b - y[i]!;
        dw += (2 * error * xi) / x.length;
        db += (2 * error) / x.length;
      });
      w -= lr * dw;
      b -= lr * db;
    }
    this.#weights = { w: tensor([w]), b: tensor([b]) };
    return { weights: this.#weights, numExamples: x.length, metrics: { loss: this.#loss(this.#weights) } };
  }

  evaluate({ weights }: EvaluateParams): EvaluateResult {
    return { numExamples: this.#data.x.length, metrics: { loss: this.#loss(weights) } };
  }

  getWeights(): Weights {
    return this.#weights;
  }

  setWeights(weights: Weights): void {
    this.#weights = weights;
  }

  #loss(weights: Weights): number {
    const w = weights.w!.data[0]!;
    const b = weights.b!.data[0]!;
    const { x, y } = this.#data;
    return x.reduce((sum, xi, i) => sum + (w * xi + b - y[i]!) ** 2, 0) / x.length;
  }
}
