import { OiafedError } from '../../wire/errors.js';
import type { Strategy } from '../strategy.js';
import { FedAvg, FedProx } from './fedavg.js';
import { CenteredClipping, FedMedian, FedTrimmedAvg, Krum } from './robust.js';
import { FedAdagrad, FedAdam, FedAvgM, FedYogi } from './server-optimized.js';

type Options = Record<string, unknown>;

interface BuiltIn {
  /** The options it takes, by name. */
  options: readonly string[];
  make(options: Options): Strategy;
}

const FEDOPT = ['eta', 'beta1', 'beta2', 'tau'] as const;

/** The built-in strategies, by the names a run config gives them, each from its options. */
const BUILT_IN = {
  fedavg: { options: [], make: () => new FedAvg() },
  fedprox: { options: ['mu'], make: (o) => new FedProx({ mu: numberOr(o, 'mu', 0.01) }) },
  fedavgm: { options: ['serverLearningRate', 'momentum'], make: (o) => new FedAvgM(numbers(o)) },
  fedadagrad: { options: ['eta', 'beta1', 'tau'], make: (o) => new FedAdagrad(numbers(o)) },
  fedadam: { options: FEDOPT, make: (o) => new FedAdam(numbers(o)) },
  fedyogi: { options: FEDOPT, make: (o) => new FedYogi(numbers(o)) },
  fedmedian: { options: [], make: () => new FedMedian() },
  fedtrimmedavg: { options: ['beta'], make: (o) => new FedTrimmedAvg(numbers(o)) },
  krum: {
    options: ['byzantine', 'keep'],
    make: (o) => new Krum({ byzantine: numberOr(o, 'byzantine', 0), ...numbers(o) }),
  },
  centeredclipping: {
    options: ['tau', 'iterations'],
    make: (o) => new CenteredClipping({ tau: numberOr(o, 'tau', Number.NaN), ...numbers(o) }),
  },
} satisfies Record<string, BuiltIn>;

export type StrategyName = keyof typeof BUILT_IN;

export const STRATEGY_NAMES = Object.keys(BUILT_IN) as StrategyName[];

/**
 * A built-in strategy by the name a config uses; its options are checked here for type and by the strategy
 * for range.
 */
export function createStrategy(name: StrategyName, options: Options = {}): Strategy {
  const builtIn: BuiltIn | undefined = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
  if (!builtIn)
    throw new OiafedError(
      'INVALID_CONFIG',
      `strategy.name ${JSON.stringify(name)} is not one of ${STRATEGY_NAMES.join(', ')}`,
    );
  for (const key of Object.keys(options)) {
    if (!builtIn.options.includes(key)) {
      const takes = builtIn.options.length ? `it takes ${builtIn.options.join(', ')}` : 'it takes none';
      throw new OiafedError(
        'INVALID_CONFIG',
        `strategy.options.${key} is not an option of ${name} (${takes})`,
      );
    }
  }
  return builtIn.make(options);
}

/** Every option set, each a number (a config file may hold anything). */
function numbers(options: Options): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(options)) out[key] = numberOr(options, key, Number.NaN);
  return out;
}

function numberOr(options: Options, key: string, fallback: number): number {
  const value = options[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'number')
    throw new OiafedError(
      'INVALID_CONFIG',
      `strategy.options.${key} must be a number (got ${JSON.stringify(value)})`,
    );
  return value;
}
