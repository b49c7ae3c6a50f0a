import type { NodeId } from '../../wire/envelope.js';
import { OiafedError } from '../../wire/errors.js';
import type { TrainParams } from '../learner.js';
import { Strategy, type RoundStart } from '../strategy.js';

/** Federated averaging (McMahan et al. 2017): the global model is the example-weighted mean of the updates. */
export class FedAvg extends Strategy {
  readonly name: string = 'fedavg';
}

export interface FedProxOptions {
  /** Weight of the proximal term (mu/2)·||w − w_global||² in each learner's local objective. */
  mu: number;
}

/**
 * FedProx (Li et al. 2020): FedAvg whose learners add a proximal term that keeps their local model
 * near the global one. Learners receive `config.mu` alongside the global weights they start from.
 */
export class FedProx extends FedAvg {
  override readonly name = 'fedprox';
  readonly mu: number;

  constructor(options: FedProxOptions) {
    super();
    if (!(options.mu >= 0) || !Number.isFinite(options.mu))
      throw new OiafedError(
        'INVALID_CONFIG',
        `strategy.options.mu must be a number >= 0 (got ${options.mu})`,
      );
    this.mu = options.mu;
  }

  override configureTrain(start: RoundStart, client: NodeId): TrainParams | undefined {
    const params = super.configureTrain(start, client);
    return params && { ...params, config: { ...params.config, mu: this.mu } };
  }
}
