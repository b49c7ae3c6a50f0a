import type { InterceptorName, RunConfig } from './config.js';
import type { CheckpointStore } from './fl/checkpoint.js';
import { createStrategy } from './fl/strategies/by-name.js';
import { DifferentialPrivacy } from './fl/privacy/differential-privacy.js';
import type { Strategy } from './fl/strategy.js';
import { OiafedError } from './wire/errors.js';
import { Federation, type FederationOptions } from './fl/federation.js';
import type { Weights } from './fl/weights.js';
import { compressionInterceptor, loggingInterceptor, type Interceptor } from './rpc/interceptors.js';
import { Node } from './rpc/node.js';

/** What a run needs beyond its config: the parts that are code, not settings. */
export interface RunParts {
  /** The trainer's node; built from `config.node`, `timeouts`, `heartbeat` and `security` when omitted. */
  node?: Node;
  store?: CheckpointStore;
  initialWeights?: Weights;
  evaluate?: FederationOptions['evaluate'];
  stopWhen?: FederationOptions['stopWhen'];
  /** ms to wait for learners (`waitForClients`); the Federation's own default when omitted. */
  clientWait?: number;
  /** The strategy, when the config names a module (the platform loads it: `oiafed serve` does). */
  strategy?: Strategy;
  /** Where the logging interceptor writes (default console.debug). */
  log?: (line: string) => void;
}

/** The running objects of a run: a trainer node and the federation on it (not started). */
export interface Run {
  node: Node;
  federation: Federation;
}

/**
 * The node a run config describes: id, role, timeouts, heartbeat, interceptors, who may join, relay, departed
 * learners remembered.
 */
export function createNode(config: RunConfig, log?: (line: string) => void): Node {
  const interceptors: Record<InterceptorName, () => Interceptor> = {
    logging: () => loggingInterceptor(log),
    compression: () => compressionInterceptor(),
  };
  return new Node({
    id: config.node.id,
    role: config.node.role,
    heartbeat: config.heartbeat,
    timeout: config.timeouts.request,
    connectTimeout: config.timeouts.connect,
    interceptors: config.transport.interceptors.map((name) => interceptors[name]()),
    ...(config.transport.token === undefined ? {} : { authenticate: config.transport.token }),
    ...(config.security.credentials === undefined ? {} : { credentials: config.security.credentials }),
    relay: config.security.relay,
    registry: { recentDeparted: config.security.recentDeparted },
  });
}

/**
 * One function from a resolved config (`resolveConfig`) to the objects that run it, used by
 * `oiafed serve`, the demo and library users alike. Serving a transport is the platform's part.
 */
export function createFederation(config: RunConfig, parts: RunParts = {}): Run {
  const fed = config.federation;
  // Before the node: a config that cannot run leaves nothing open behind it.
  const chosen = strategyOf(fed.strategy, parts.strategy);
  const strategy = fed.privacy ? new DifferentialPrivacy(chosen, fed.privacy) : chosen;
  const node = parts.node ?? createNode(config, parts.log);
  const federation = new Federation({
    node,
    strategy,
    schedule: fed.schedule.name === 'sync' ? 'sync' : fed.schedule,
    rounds: fed.rounds,
    minClients: fed.minClients,
    minResults: fed.minResults,
    overSelection: fed.overSelection,
    selection: fed.fraction >= 1 ? 'all' : { fraction: fed.fraction },
    seed: fed.seed,
    deadline: fed.deadline,
    config: fed.train,
    federatedEvaluation: fed.federatedEvaluation,
    onRoundFailure: fed.onRoundFailure,
    maxExamples: config.security.maxExamples,
    exclude: { after: config.security.excludeAfter, rounds: config.security.excludeRounds },
    ...(fed.secureAggregation === undefined ? {} : { secureAggregation: fed.secureAggregation }),
    ...(fed.codecs === undefined ? {} : { codecs: fed.codecs }),
    ...(parts.clientWait === undefined ? {} : { clientWait: parts.clientWait }),
    ...(parts.store === undefined ? {} : { store: parts.store }),
    ...(parts.initialWeights === undefined ? {} : { initialWeights: parts.initialWeights }),
    ...(parts.evaluate === undefined ? {} : { evaluate: parts.evaluate }),
    ...(parts.stopWhen === undefined ? {} : { stopWhen: parts.stopWhen }),
  });
  return { node, federation };
}

/** The config's strategy: a built-in by name, or the one the platform loaded from the config's module. */
function strategyOf(chosen: RunConfig['federation']['strategy'], loaded: Strategy | undefined): Strategy {
  if (loaded) return loaded;
  if ('name' in chosen) return createStrategy(chosen.name, chosen.options);
  throw new OiafedError(
    'INVALID_CONFIG',
    `federation.strategy.module ${JSON.stringify(chosen.module)} is loaded by the platform: pass the strategy it makes as parts.strategy`,
  );
}
