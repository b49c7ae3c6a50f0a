import { Aggregator, createFederation, memoryLinkPair, type Federation, type Node } from '@oiafed/core';
import { createDemoTrainer, demoConfig, demoMinClients, type DemoRunOptions } from './demo-federation.js';

/** A node learners join: the trainer, or (with `--aggregators`) one aggregator, with its share of them. */
export interface Home {
  node: Node;
  /** Its learners are first to first + count - 1 (ids learner-i, shard i, as under one trainer). */
  first: number;
  count: number;
}

/** Aggregator k's learners of `clients` over `aggregators`: contiguous blocks, sizes differing by at most one. */
export function shareOf(clients: number, aggregators: number, k: number): { first: number; count: number } {
  const first = Math.floor((k * clients) / aggregators);
  return { first, count: Math.floor(((k + 1) * clients) / aggregators) - first };
}

/**
 * The root's run options under `aggregators` aggregators: its learners are the aggregators, each
 * asked every round (the `--fraction` and `--min-clients` of the learners apply at their aggregators).
 */
export function rootOptions<T extends DemoRunOptions>(options: T, aggregators: number): T {
  return { ...options, clients: aggregators, fraction: 1, minClients: aggregators };
}

export interface DemoAggregators {
  homes: (Home & { federation: Federation; aggregator: Aggregator })[];
  /**
   * Resolves once every aggregator has heard the trainer's run end and told its learners (it
   * passes the notice on as it arrives), or after `ms`: closing them sooner could cut that off.
   */
  told(ms: number): Promise<void>;
  close(): void;
}

/**
 * `count` aggregators joined to `root` in this process, each the trainer of a block of the
 * learners (`shareOf`): what `oiafed serve` processes with `node.role: aggregator` are across
 * machines. Each runs FedAvg (FedProx with `--strategy fedprox`) over its learners, and sends the
 * root their example-weighted mean and example count, so the root's FedAvg equals the flat run's.
 * Its `--min-clients` is its share of the run's; heartbeat and token are the trainer's.
 */
export async function serveDemoAggregators(
  root: Node,
  options: DemoRunOptions & { heartbeat?: number; token?: string },
  count: number,
): Promise<DemoAggregators> {
  const homes: DemoAggregators['homes'] = [];
  const close = () => {
    for (const home of homes) {
      home.aggregator.close();
      home.node.close();
    }
  };
  const runMin = demoMinClients(options);
  try {
    for (let k = 0; k < count; k++) {
      const share = shareOf(options.clients, count, k);
      const id = `aggregator-${k}`;
      const own: DemoRunOptions = {
        ...options,
        clients: share.count,
        minClients: Math.min(share.count, Math.max(1, Math.round((runMin * share.count) / options.clients))),
        strategy: options.strategy === 'fedprox' ? 'fedprox' : 'fedavg',
      };
      const trainer = {
        id,
        ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
        ...(options.token ? { token: options.token } : {}),
      };
      const node = createDemoTrainer(own, trainer);
      const { federation } = createFederation(demoConfig(own, trainer), { node });
      const aggregator = await Aggregator.serve({
        node,
        federation,
        connect: () => {
          const [rootSide, aggregatorSide] = memoryLinkPair({ strict: true });
          root.accept(rootSide);
          return Promise.resolve(aggregatorSide);
        },
        id,
        heartbeat: false,
        ...(options.token ? { token: options.token } : {}),
      });
      homes.push({ node, federation, aggregator, ...share });
    }
  } catch (error) {
    close();
    throw error;
  }
  const told = async (ms: number) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const bound = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
    await Promise.race([Promise.all(homes.map((home) => home.aggregator.finished)), bound]);
    clearTimeout(timer);
  };
  return { homes, told, close };
}

/**
 * Why `options` cannot run under `aggregators`, or undefined when it can: an aggregator runs its
 * parent's synchronous rounds, and what passes through it must be a weighted sum it can form
 * (no secure aggregation, differential privacy or compressed updates across levels).
 */
export function aggregatorsProblem(
  options: DemoRunOptions & { aggregators?: number | undefined },
): string | undefined {
  const { aggregators } = options;
  if (aggregators === undefined || aggregators === 0) return undefined;
  if (!Number.isInteger(aggregators) || aggregators < 1 || aggregators > options.clients)
    return `aggregators must be an integer from 1 to clients (${options.clients}) (got ${aggregators})`;
  if (options.async) return "aggregators need synchronous rounds (an aggregator runs its parent's rounds)";
  if (options.secure)
    return 'aggregators cannot run with secure aggregation (it does not pass through levels)';
  if (options.privacy)
    return 'aggregators cannot run with differential privacy (it is added once, at the root)';
  if (options.codecs) return 'aggregators run without compressed updates';
  return undefined;
}
