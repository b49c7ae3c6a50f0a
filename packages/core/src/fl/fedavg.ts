import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { Trainer, type Aggregator, type RoundContext } from './trainer.js';
import { WeightedMean } from './weighted-mean.js';

/** Federated averaging (McMahan et al. 2017): the global model is the example-weighted mean of the updates. */
export class FedAvg extends Trainer {
  readonly name: string = 'fedavg';

  createAggregator(): Aggregator {
    return new WeightedMean();
  }
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
    if (!(options.mu >= 0) || !Number.isFinite(options.mu)) throw new OiafedError('INVALID_CONFIG', `federation.trainer.options.mu must be a number >= 0 (got ${options.mu})`);
    this.mu = options.mu;
  }

  override trainConfig(ctx: RoundContext, client: NodeId): Record<string, unknown> {
    return { ...super.trainConfig(ctx, client), mu: this.mu };
  }
}

export type TrainerName = 'fedavg' | 'fedprox';

/** The built-in trainers by the names a config uses. */
export function createTrainer(name: TrainerName, options: Record<string, unknown> = {}): Trainer {
  switch (name) {
    case 'fedavg':
      return new FedAvg();
    case 'fedprox':
      return new FedProx({ mu: (options.mu as number | undefined) ?? 0.01 });
    default:
      throw new OiafedError('INVALID_CONFIG', `federation.trainer.name ${JSON.stringify(name)} is not one of fedavg, fedprox`);
  }
}
