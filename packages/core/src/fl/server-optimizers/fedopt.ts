// FedOpt: what FedAdagrad, FedAdam and FedYogi share (Reddi et al. 2021, "Adaptive Federated
// Optimization", ICLR, Algorithm 2), laid out as Flower's FedOpt
// (adap/flower framework/py/flwr/serverapp/strategy/fedopt.py, read at fdef7af, March 2026): the
// pseudo-gradient is delta = aggregate - global, the first moment m = beta1 * m + (1 - beta1) * delta,
// both moments start at zero before the first step (Flower's `np.zeros_like`, where the paper lets
// v start at tau^2 or more), and the model moves by + lr * m / (sqrt(v) + tau). Each optimiser
// says in `updateTensor` how v changes and what lr is.

import { OiafedError } from '../../wire/errors.js';
import type { ServerOptimizer, StrategyState } from '../aggregation.js';
import type { Weights } from '../weights.js';
import { DECAY, numberOption, POSITIVE } from './optimizer-option.js';
import { checkStepInputs, optimizerState, readOptimizerState, zerosLike } from './optimizer-state.js';

/** The options FedAdagrad, FedAdam and FedYogi take (`strategy.options` in a config). */
export interface FedOptOptions {
  /** Server learning rate. */
  eta?: number;
  /** Decay of the first moment (momentum); 0 makes m the round's pseudo-gradient. */
  beta1?: number;
  /** Decay of the second moment (FedAdam, FedYogi). */
  beta2?: number;
  /** How adaptive the step is: added to sqrt(v) in the denominator, so it bounds the step where v is small. */
  tau?: number;
}

/**
 * The server half of Reddi et al.'s adaptive optimisers; see the top of this file.
 *
 * Numbers: delta, m and v are rounded to float32 as Flower's numpy arrays are, and the rest of
 * each coordinate's formula runs in float64 (JavaScript's number) before the result is stored as
 * float32; numpy rounds after every operation, so the two agree to about a float32 ulp per step.
 * The moments stay float32 as in Flower: float64 moments would double their memory (two models)
 * and change nothing that matters at that precision.
 */
export abstract class FedOptOptimizer implements ServerOptimizer {
  abstract readonly name: string;
  readonly eta: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
  #steps = 0;
  #m: Weights | undefined;
  #v: Weights | undefined;

  protected constructor(options: FedOptOptions, defaults: Required<FedOptOptions>) {
    this.eta = numberOption('eta', options.eta, defaults.eta, POSITIVE);
    this.beta1 = numberOption('beta1', options.beta1, defaults.beta1, DECAY);
    this.beta2 = numberOption('beta2', options.beta2, defaults.beta2, DECAY);
    this.tau = numberOption('tau', options.tau, defaults.tau, POSITIVE);
  }

  /**
   * Steps taken, the t of FedAdam's bias correction. Flower uses its `server_round` there, which
   * also counts rounds that produced no aggregate; here a round without results takes no step, and
   * under FedBuff every new model version is one.
   */
  get steps(): number {
    return this.#steps;
  }

  step(global: Weights, aggregate: Weights): Weights {
    checkStepInputs(this.name, global, aggregate, [this.#m, this.#v]);
    const m = (this.#m ??= zerosLike(global));
    const v = (this.#v ??= zerosLike(global));
    this.#steps += 1;
    const out: Weights = {};
    for (const [name, g] of Object.entries(global)) {
      const next = new Float32Array(g.data.length);
      this.updateTensor(this.#steps, g.data, aggregate[name]!.data, m[name]!.data, v[name]!.data, next);
      out[name] = { shape: [...g.shape], data: next };
    }
    return out;
  }

  /**
   * Step `t` (1 at the first) of one tensor: updates `m` and `v` in place from
   * delta = aggregate - global, and writes the new parameters to `out`.
   */
  protected abstract updateTensor(
    t: number,
    global: Float32Array,
    aggregate: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
  ): void;

  state(): StrategyState {
    return optimizerState(this.name, this.#steps, { m: this.#m, v: this.#v });
  }

  restore(state: StrategyState): void {
    const { steps, buffers } = readOptimizerState(this.name, state, ['m', 'v']);
    // Both moments exist exactly when a step was taken: anything else is not a state this class saved.
    const moments = (buffers.m ? 1 : 0) + (buffers.v ? 1 : 0);
    if (moments !== (steps > 0 ? 2 : 0)) {
      throw new OiafedError(
        'INVALID_CONFIG',
        `${this.name} state in the checkpoint: m and v must both be present after a step and both null before one (steps ${steps})`,
      );
    }
    this.#steps = steps;
    this.#m = buffers.m;
    this.#v = buffers.v;
  }
}
