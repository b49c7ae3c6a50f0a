// FedAvgM: federated averaging with server momentum (Hsu, Qi and Brown 2019, "Measuring the Effects
// of Non-Identical Data Distribution for Federated Visual Classification", arXiv:1909.06335), as
// Flower computes it (adap/flower framework/py/flwr/serverapp/strategy/fedavgm.py, read at fdef7af,
// March 2026), which follows PyTorch's SGD: the pseudo-gradient is g = global - aggregate (an update
// is the opposite of a gradient), the momentum buffer is g at the first step and momentum * buffer + g
// after, and the next model is global - serverLearningRate * buffer. With momentum 0 the buffer is
// g itself, and with learning rate 1 as well the step is plain FedAvg: Flower then returns the
// aggregate untouched, and so does this. Defaults are Flower's: serverLearningRate 1, momentum 0.

import { OiafedError } from '../../wire/errors.js';
import type { ServerOptimizer, StrategyState } from '../aggregation.js';
import { cloneWeights, type Weights } from '../weights.js';
import { DECAY, numberOption, POSITIVE } from './optimizer-option.js';
import { checkStepInputs, optimizerState, readOptimizerState, zerosLike } from './optimizer-state.js';

export interface FedAvgMOptions {
  /** Scales the (momentum-accumulated) pseudo-gradient: 1 with momentum 0 is FedAvg. */
  serverLearningRate?: number;
  /** Server momentum, the buffer's decay; 0 keeps no buffer. */
  momentum?: number;
}

/**
 * Numbers: g is rounded to float32 as Flower's arrays are, the buffer kept as float32, and each
 * coordinate's formula runs in float64 before it is stored as float32 (numpy rounds after every
 * operation: the two agree to about a float32 ulp per step).
 */
export class FedAvgMOptimizer implements ServerOptimizer {
  readonly name = 'fedavgm';
  readonly serverLearningRate: number;
  readonly momentum: number;
  #steps = 0;
  #buffer: Weights | undefined;

  constructor(options: FedAvgMOptions = {}) {
    this.serverLearningRate = numberOption('serverLearningRate', options.serverLearningRate, 1, POSITIVE);
    this.momentum = numberOption('momentum', options.momentum, 0, DECAY);
  }

  get steps(): number {
    return this.#steps;
  }

  step(global: Weights, aggregate: Weights): Weights {
    checkStepInputs(this.name, global, aggregate, [this.#buffer]);
    this.#steps += 1;
    if (this.momentum === 0 && this.serverLearningRate === 1) return cloneWeights(aggregate);
    // A zero buffer makes the first step's momentum * 0 + g exactly g: PyTorch's and Flower's start.
    const buffer = this.momentum > 0 ? (this.#buffer ??= zerosLike(global)) : undefined;
    const { momentum, serverLearningRate: lr } = this;
    const out: Weights = {};
    for (const [name, t] of Object.entries(global)) {
      const x = t.data;
      const a = aggregate[name]!.data;
      const b = buffer?.[name]!.data;
      const next = new Float32Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const g = Math.fround(x[i]! - a[i]!);
        const direction = b ? (b[i] = Math.fround(momentum * b[i]! + g)) : g;
        next[i] = x[i]! - lr * direction;
      }
      out[name] = { shape: [...t.shape], data: next };
    }
    return out;
  }

  state(): StrategyState {
    return optimizerState(this.name, this.#steps, { buffer: this.#buffer });
  }

  restore(state: StrategyState): void {
    const { steps, buffers } = readOptimizerState(this.name, state, ['buffer']);
    if (buffers.buffer !== undefined && steps === 0)
      throw new OiafedError(
        'INVALID_CONFIG',
        `${this.name} state in the checkpoint: a momentum buffer before any step`,
      );
    this.#steps = steps;
    this.#buffer = buffers.buffer;
  }
}
