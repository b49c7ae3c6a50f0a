import { OiafedError } from '../../wire/errors.js';
import type { Aggregate, ServerOptimizer, StrategyState } from '../aggregation.js';
import { FedAdagradOptimizer, type FedAdagradOptions } from '../server-optimizers/fedadagrad.js';
import { FedAdamOptimizer } from '../server-optimizers/fedadam.js';
import { FedAvgMOptimizer, type FedAvgMOptions } from '../server-optimizers/fedavgm.js';
import type { FedOptOptions } from '../server-optimizers/fedopt.js';
import { FedYogiOptimizer } from '../server-optimizers/fedyogi.js';
import type { RoundStart } from '../strategy.js';
import type { Weights } from '../weights.js';
import { FedAvg } from './fedavg.js';

/**
 * FedAvg's rounds with a server optimiser after the mean (Reddi et al. 2021): the example-weighted
 * mean is the optimiser's target, and its moments travel in every checkpoint, so a run resumed
 * after a stop reaches the same weights as one that never stopped.
 */
export class ServerOptimized extends FedAvg {
  override readonly name: string;

  constructor(readonly optimizer: ServerOptimizer) {
    super();
    this.name = optimizer.name;
  }

  override update(start: RoundStart, aggregate: Aggregate): Weights {
    return this.optimizer.step(start.weights, aggregate.weights);
  }

  override state(): StrategyState {
    return { optimizer: this.optimizer.state() };
  }

  override restore(state: StrategyState): void {
    const saved = state.optimizer;
    if (saved === undefined) return;
    if (saved === null || typeof saved !== 'object' || Array.isArray(saved)) {
      throw new OiafedError('INVALID_CONFIG', `checkpoint: ${this.name} state is not an object`);
    }
    this.optimizer.restore(saved as StrategyState);
  }
}

/** FedAvgM: server momentum (Hsu et al. 2019). */
export class FedAvgM extends ServerOptimized {
  constructor(options: FedAvgMOptions = {}) {
    super(new FedAvgMOptimizer(options));
  }
}

/** FedAdagrad (Reddi et al. 2021). */
export class FedAdagrad extends ServerOptimized {
  constructor(options: FedAdagradOptions = {}) {
    super(new FedAdagradOptimizer(options));
  }
}

/** FedAdam (Reddi et al. 2021), with Flower's bias correction. */
export class FedAdam extends ServerOptimized {
  constructor(options: FedOptOptions = {}) {
    super(new FedAdamOptimizer(options));
  }
}

/** FedYogi (Reddi et al. 2021). */
export class FedYogi extends ServerOptimized {
  constructor(options: FedOptOptions = {}) {
    super(new FedYogiOptimizer(options));
  }
}
