import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { seededRandom } from './random.js';
import { Federation, type FederationOptions, type FederationResult } from './federation.js';
import { serveLearner } from './serve-learner.js';
import type { EvaluateParams, EvaluateResult, Learner, TrainParams, TrainResult } from './learner.js';
import { cloneWeights, tensor, type Weights } from './weights.js';

/** Synthetic regression data y = x·w* + b* + noise, drawn from a seed. */
export function linearData(seed: number, count: number, truth = { w: [2, -3, 0.5], b: 1 }) {
  const random = seededRandom(seed);
  const dims = truth.w.length;
  const x = new Float32Array(count * dims);
  const y = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let target = truth.b;
    for (let d = 0; d < dims; d++) {
      const v = random() * 2 - 1;
      x[i * dims + d] = v;
      target += v * truth.w[d]!;
    }
    y[i] = target + (random() - 0.5) * 0.01;
  }
  return { x, y, dims, count };
}

export function zeroLinearWeights(dims = 3): Weights {
  return { w: tensor(new Float32Array(dims), [dims]), b: tensor(new Float32Array(1), [1]) };
}

/**
 * Learner `index`'s own starting model, drawn in [-4, 4) as a device initialises its model at
 * random: learners start apart, so a run without `initialWeights` shows whose model it started from.
 */
export function linearStart(index: number, dims = 3): Weights {
  const random = seededRandom(1_000 + index);
  const draw = (n: number) => Float32Array.from({ length: n }, () => random() * 8 - 4);
  return { w: tensor(draw(dims), [dims]), b: tensor(draw(1), [1]) };
}

/**
 * A real (small) learner: linear regression by SGD on its own data; with `mu` in the config it
 * adds FedProx's proximal term. Deterministic for a given seed and call sequence.
 */
export class LinearLearner implements Learner {
  weights: Weights;
  readonly seen: TrainParams[] = [];

  constructor(
    readonly data: ReturnType<typeof linearData>,
    start: Weights = zeroLinearWeights(data.dims),
  ) {
    this.weights = cloneWeights(start);
  }

  train(params: TrainParams): TrainResult {
    this.seen.push(params);
    const lr = (params.config.lr as number | undefined) ?? 0.1;
    const epochs = (params.config.epochs as number | undefined) ?? 1;
    const mu = (params.config.mu as number | undefined) ?? 0;
    const global = params.weights;
    const w = cloneWeights(global);
    const { x, y, dims, count } = this.data;
    let loss = 0;
    for (let e = 0; e < epochs; e++) {
      loss = 0;
      for (let i = 0; i < count; i++) {
        let pred = w.b!.data[0]!;
        for (let d = 0; d < dims; d++) pred += w.w!.data[d]! * x[i * dims + d]!;
        const err = pred - y[i]!;
        loss += err * err;
        for (let d = 0; d < dims; d++) {
          const prox = mu * (w.w!.data[d]! - global.w!.data[d]!);
          w.w!.data[d]! -= lr * (err * x[i * dims + d]! + prox);
        }
        w.b!.data[0]! -= lr * (err + mu * (w.b!.data[0]! - global.b!.data[0]!));
      }
    }
    this.weights = w;
    return { weights: w, numExamples: count, metrics: { loss: loss / count } };
  }

  evaluate(params: EvaluateParams): EvaluateResult {
    const { x, y, dims, count } = this.data;
    const w = params.weights;
    let loss = 0;
    for (let i = 0; i < count; i++) {
      let pred = w.b!.data[0]!;
      for (let d = 0; d < dims; d++) pred += w.w!.data[d]! * x[i * dims + d]!;
      loss += (pred - y[i]!) ** 2;
    }
    return { numExamples: count, metrics: { loss: loss / count } };
  }

  getWeights(): Weights {
    return this.weights;
  }

  setWeights(weights: Weights): void {
    this.weights = cloneWeights(weights);
  }
}

/**
 * `learner` on a device `ms` slower: each training answers `ms` after it would have. The timer
 * stands for the device's speed; what a test waits on is still events and promises.
 */
export function slowedBy(learner: Learner, ms: number): Learner {
  return {
    train: (params) =>
      new Promise<TrainResult>((resolve, reject) =>
        setTimeout(() => void Promise.resolve(learner.train(params)).then(resolve, reject), ms),
      ),
    evaluate: (params) => learner.evaluate(params),
    getWeights: () => learner.getWeights(),
    setWeights: (weights) => learner.setWeights(weights),
  };
}

/** The learner every mode test starts: learner i trains on linearData(i + 1, 40), from its own model linearStart(i). */
export const linearLearner = (index: number) =>
  new LinearLearner(linearData(index + 1, 40), linearStart(index));

/** The run every mode is compared with: three rounds, seed 5, in memory. */
export const REFERENCE_RUN = { rounds: 3, seed: 5, config: { lr: 0.05 } } as const;

/**
 * A run with `count` linear learners in memory: the weights other modes must reach. They join in
 * reverse order of their ids, so a starting model taken from the first to arrive would differ from
 * the other modes' (which join in id order, or in any order at once).
 */
export async function memoryReference(
  options: Omit<FederationOptions, 'node'> = REFERENCE_RUN,
  count = 3,
): Promise<FederationResult> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const learners = Array.from(
    { length: count },
    (_, index) => new Node({ id: `learner-${index}`, role: 'learner', heartbeat: false }),
  );
  try {
    for (const [index, node] of [...learners.entries()].reverse()) {
      serveLearner(node, linearLearner(index));
      await joinInMemory(trainer, node);
    }
    return await new Federation({ node: trainer, ...options }).start();
  } finally {
    learners.forEach((n) => n.close());
    trainer.close();
  }
}
