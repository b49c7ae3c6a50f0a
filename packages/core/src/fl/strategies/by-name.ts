import { OiafedError } from '../../wire/errors.js';
import type { Strategy } from '../strategy.js';
import { FedAvg, FedProx } from './fedavg.js';

/** The built-in strategies, by the names a run config gives them, each from its options. */
const BUILT_IN = {
  fedavg: () => new FedAvg(),
  fedprox: (options: Record<string, unknown>) => new FedProx({ mu: (options.mu as number | undefined) ?? 0.01 }),
} satisfies Record<string, (options: Record<string, unknown>) => Strategy>;

export type StrategyName = keyof typeof BUILT_IN;

export const STRATEGY_NAMES = Object.keys(BUILT_IN) as StrategyName[];

/** A built-in strategy by the name a config uses. */
export function createStrategy(name: StrategyName, options: Record<string, unknown> = {}): Strategy {
  const make = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
  if (!make) throw new OiafedError('INVALID_CONFIG', `strategy.name ${JSON.stringify(name)} is not one of ${STRATEGY_NAMES.join(', ')}`);
  return make(options);
}
