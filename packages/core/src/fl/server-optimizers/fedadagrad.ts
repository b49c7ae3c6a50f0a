// FedAdagrad (Reddi et al. 2021, "Adaptive Federated Optimization", ICLR, Algorithm 2 with
// Adagrad's second moment), as Flower computes it (adap/flower
// framework/py/flwr/serverapp/strategy/fedadagrad.py, read at fdef7af, March 2026): v = v + delta^2,
// the sum of every round's squared pseudo-gradient, and the step eta * m / (sqrt(v) + tau) without
// bias correction. Flower fixes beta1 at 0 (m is the round's delta); the paper allows momentum, so
// beta1 is an option here with Flower's 0 as its default. beta2 has no part in Adagrad and is
// refused. Defaults are Flower's: eta 0.1, beta1 0, tau 1e-3.

import { OiafedError } from '../../wire/errors.js';
import { FedOptOptimizer, type FedOptOptions } from './fedopt.js';

export type FedAdagradOptions = Omit<FedOptOptions, 'beta2'>;

export class FedAdagradOptimizer extends FedOptOptimizer {
  readonly name = 'fedadagrad';

  constructor(options: FedAdagradOptions = {}) {
    if ((options as FedOptOptions).beta2 !== undefined)
      throw new OiafedError(
        'INVALID_CONFIG',
        'strategy.options.beta2 has no effect on fedadagrad (its second moment is a plain sum): remove it',
      );
    super(options, { eta: 0.1, beta1: 0, beta2: 0, tau: 1e-3 });
  }

  protected updateTensor(
    _t: number,
    global: Float32Array,
    aggregate: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
  ): void {
    const { eta, beta1, tau } = this;
    for (let i = 0; i < out.length; i++) {
      const x = global[i]!;
      const delta = Math.fround(aggregate[i]! - x);
      const mi = (m[i] = Math.fround(beta1 * m[i]! + (1 - beta1) * delta));
      const vi = (v[i] = Math.fround(v[i]! + delta * delta));
      out[i] = x + (eta * mi) / (Math.sqrt(vi) + tau);
    }
  }
}
