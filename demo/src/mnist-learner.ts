import * as tf from '@tensorflow/tfjs';
import {
  seededRandom,
  shuffle,
  type EvaluateParams,
  type EvaluateResult,
  type Learner,
  type TrainParams,
  type TrainResult,
  type Weights,
} from '@oiafed/core';
import type { Dataset } from './mnist.js';
import type { ModelPool } from './model-pool.js';
import {
  batchTensors,
  createModel,
  evaluateModel,
  modelWeights,
  setModelWeights,
  yieldToEventLoop,
} from './model.js';

const YIELD_EVERY_MS = 25;

export interface MnistLearnerOptions {
  /**
   * Simulates a device this many times slower (the demo's `--slow`): its training takes this many
   * times its own compute time. Default 1.
   */
  slowdown?: number;
  /**
   * Borrow a model from this pool for each call instead of keeping one (many learners on one thread,
   * e.g. the one-tab simulation). Such a learner keeps only the weights `setWeights` gave it (else its
   * seeded starting weights) for `getWeights`.
   */
  models?: ModelPool;
}

/**
 * A learner that trains the 2NN on its own share of MNIST with plain SGD. `config.batchSize`
 * 'full' (or 0) makes one full-batch step per epoch: FedSGD. With `config.mu` it minimises
 * FedProx's local objective, loss + (mu/2)·||w − w_global||².
 */
export class MnistLearner implements Learner {
  readonly #data: Dataset;
  /** Its own model, or undefined when it borrows from `#pool`. */
  readonly #model: tf.Sequential | undefined;
  readonly #pool: ModelPool | undefined;
  /** A pooled learner's weights from `setWeights`. */
  #weights: Weights | undefined;
  readonly #seed: number;
  readonly #slowdown: number;

  constructor(data: Dataset, seed: number, options: MnistLearnerOptions = {}) {
    this.#data = data;
    this.#seed = seed;
    this.#pool = options.models;
    this.#model = this.#pool ? undefined : createModel(seed);
    this.#slowdown = options.slowdown ?? 1;
  }

  /**
   * Yields to the event loop every few tens of ms, so the tab (or worker) stays responsive and keeps
   * answering the trainer's pings.
   */
  async train(params: TrainParams): Promise<TrainResult> {
    const { result, busyMs } = await this.#withModel((model) => this.#trainOn(model, params));
    // A slow device is simulated by waiting out the difference, not by computing more: a real
    // slow phone spends its extra time on its own processor, not on this process's, which the
    // other learners sharing this thread (memory and worker modes) would otherwise lose. The
    // wait is the product's behaviour here (what `--slow` shows), and the result is unchanged.
    if (this.#slowdown > 1)
      await new Promise((resolve) => setTimeout(resolve, busyMs * (this.#slowdown - 1)));
    return result;
  }

  async #trainOn(
    model: tf.Sequential,
    { round, weights, config }: TrainParams,
  ): Promise<{ result: TrainResult; busyMs: number }> {
    // Own compute time: the slices this learner ran, not the time other learners on the same
    // thread ran while it yielded.
    let busyMs = 0;
    let sliceStart = performance.now();
    setModelWeights(model, weights);
    const epochs = Number(config.epochs ?? 1);
    const lr = Number(config.lr ?? 0.05);
    const mu = Number(config.mu ?? 0);
    const full = config.batchSize === 'full' || config.batchSize === 0;
    const batchSize = full ? this.#data.count : Number(config.batchSize ?? 10);
    const optimizer = tf.train.sgd(lr);
    const variables = model.trainableWeights.map((w) => asVariable(w.read()));
    const anchors = mu > 0 ? variables.map((v) => tf.keep(v.clone())) : [];
    const random = seededRandom(this.#seed * 1_000 + round);
    // Summed on the backend and read once: a read back per batch would stall every step.
    let lossSum = tf.keep(tf.scalar(0));
    let batches = 0;
    for (let epoch = 0; epoch < epochs; epoch++) {
      const order = shuffle(
        Array.from({ length: this.#data.count }, (_, i) => i),
        random,
      );
      const shuffled = reorder(this.#data, order);
      for (let from = 0; from < shuffled.count; from += batchSize) {
        const to = Math.min(shuffled.count, from + batchSize);
        const loss = tf.tidy((): tf.Scalar => {
          const { xs, ys } = batchTensors(shuffled, from, to);
          return optimizer.minimize(() => {
            const logits = model.apply(xs, { training: true }) as tf.Tensor2D;
            const base = tf.losses.softmaxCrossEntropy<tf.Tensor2D, tf.Scalar>(ys, logits);
            if (mu === 0) return base;
            const proximal = tf.addN(variables.map((v, i) => v.sub(anchors[i]!).square().sum()));
            return base.add<tf.Scalar>(proximal.mul(mu / 2));
          }, true)!;
        });
        const next = tf.keep(lossSum.add<tf.Scalar>(loss));
        lossSum.dispose();
        loss.dispose();
        lossSum = next;
        batches += 1;
        if (performance.now() - sliceStart > YIELD_EVERY_MS) {
          busyMs += performance.now() - sliceStart;
          await yieldToEventLoop();
          sliceStart = performance.now();
        }
      }
    }
    const meanLoss = lossSum.dataSync()[0]! / Math.max(1, batches);
    tf.dispose([lossSum, ...anchors]);
    optimizer.dispose();
    const result: TrainResult = {
      weights: modelWeights(model),
      numExamples: this.#data.count,
      metrics: { loss: meanLoss },
    };
    busyMs += performance.now() - sliceStart;
    return { result, busyMs };
  }

  async evaluate({ weights }: EvaluateParams): Promise<EvaluateResult> {
    return this.#withModel((model) => {
      setModelWeights(model, weights);
      return { numExamples: this.#data.count, metrics: evaluateModel(model, this.#data) };
    });
  }

  #withModel<T>(fn: (model: tf.Sequential) => T | Promise<T>): Promise<T> {
    return this.#pool ? this.#pool.use(fn) : Promise.resolve(fn(this.#model!));
  }

  getWeights(): Weights {
    if (this.#model) return modelWeights(this.#model);
    if (this.#weights) return this.#weights;
    const seeded = createModel(this.#seed);
    const weights = modelWeights(seeded);
    seeded.dispose();
    return weights;
  }

  setWeights(weights: Weights): void {
    if (this.#model) setModelWeights(this.#model, weights);
    else this.#weights = weights;
  }
}

function reorder(data: Dataset, order: readonly number[]): Dataset {
  const x = new Float32Array(data.x.length);
  const y = new Uint8Array(data.count);
  const px = data.x.length / data.count;
  order.forEach((source, i) => {
    x.set(data.x.subarray(source * px, (source + 1) * px), i * px);
    y[i] = data.y[source]!;
  });
  return { x, y, count: data.count };
}

/** A trainable weight's value: read() hands back the layer's tf.Variable, typed as a Tensor. */
function asVariable(value: tf.Tensor): tf.Variable {
  if (value instanceof tf.Variable) return value as tf.Variable;
  throw new Error('a trainable weight of the model is not a tf.Variable');
}
