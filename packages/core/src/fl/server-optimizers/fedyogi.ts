// FedYogi (Reddi et al. 2021, "Adaptive Federated Optimization", ICLR, Algorithm 2 with Yogi's
// second moment, Zaheer et al. 2018), as Flower computes it (adap/flower
// framework/py/flwr/serverapp/strategy/fedyogi.py, read at fdef7af, March 2026):
// v = v - (1 - beta2) * delta^2 * sign(v - delta^2), so v moves towards delta^2 by at most
// (1 - beta2) * delta^2 a round instead of jumping to it as Adam's average may, and the step is
// eta * m / (sqrt(v) + tau) without bias correction. v starts at zero, so the first step sets it
// to (1 - beta2) * delta^2. Defaults are Flower's: eta 0.01, beta1 0.9, beta2 0.99, tau 1e-3.

import { FedOptOptimizer, type FedOptOptions } from './fedopt.js';

export class FedYogiOptimizer extends FedOptOptimizer {
  readonly name = 'fedyogi';

  constructor(options: FedOptOptions = {}) {
    super(options, { eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  }

  protected updateTensor(
    _t: number,
    global: Float32Array,
    aggregate: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
  ): void {
    const { eta, beta1, beta2, tau } = this;
    for (let i = 0; i < out.length; i++) {
      const x = global[i]!;
      const delta = Math.fround(aggregate[i]! - x);
      const squared = Math.fround(delta * delta);
      const mi = (m[i] = Math.fround(beta1 * m[i]! + (1 - beta1) * delta));
      const vi = (v[i] = Math.fround(v[i]! - (1 - beta2) * squared * Math.sign(v[i]! - squared)));
      out[i] = x + (eta * mi) / (Math.sqrt(vi) + tau);
    }
  }
}
