// FedAdam (Reddi et al. 2021, "Adaptive Federated Optimization", ICLR, Algorithm 2 with Adam's
// second moment), as Flower computes it (adap/flower
// framework/py/flwr/serverapp/strategy/fedadam.py, read at fdef7af, March 2026):
// v = beta2 * v + (1 - beta2) * delta^2, and the step is bias-corrected as in Kingma & Ba's Adam,
// lr = eta * sqrt(1 - beta2^(t+1)) / (1 - beta1^(t+1)) at round t (1 at the first), where the paper
// has no correction. Flower's exponent is `server_round + 1.0`, one more than Kingma & Ba's t, so
// its first step moves a coordinate by about 0.74 * eta, not eta, with the default betas; kept so
// that a model trained here and under Flower follow the same path. Defaults are Flower's: eta 0.1,
// beta1 0.9, beta2 0.99, tau 1e-3.

import { FedOptOptimizer, type FedOptOptions } from './fedopt.js';

export class FedAdamOptimizer extends FedOptOptimizer {
  readonly name = 'fedadam';

  constructor(options: FedOptOptions = {}) {
    super(options, { eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
  }

  protected updateTensor(
    t: number,
    global: Float32Array,
    aggregate: Float32Array,
    m: Float32Array,
    v: Float32Array,
    out: Float32Array,
  ): void {
    const { beta1, beta2, tau } = this;
    const lr = (this.eta * Math.sqrt(1 - beta2 ** (t + 1))) / (1 - beta1 ** (t + 1));
    for (let i = 0; i < out.length; i++) {
      const x = global[i]!;
      const delta = Math.fround(aggregate[i]! - x);
      const mi = (m[i] = Math.fround(beta1 * m[i]! + (1 - beta1) * delta));
      const vi = (v[i] = Math.fround(beta2 * v[i]! + (1 - beta2) * delta * delta));
      out[i] = x + (lr * mi) / (Math.sqrt(vi) + tau);
    }
  }
}
