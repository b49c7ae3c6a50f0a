import {
  createFederation,
  createNode,
  resolveConfig,
  type CheckpointStore,
  type CodecOptions,
  type Federation,
  type Node,
  type RunConfig,
  type SecureAggregationOptions,
  type StrategyName,
} from '@oiafed/core';
import type { Dataset } from './mnist.js';
import { createModel, evaluateModel, modelWeights, setModelWeights } from './model.js';

/** What the trainer side of the demo needs to know, wherever it runs (Node or a tab). */
export interface DemoRunOptions {
  clients: number;
  fraction: number;
  epochs: number;
  batchSize: number | 'full';
  rounds: number;
  lr: number;
  seed: number;
  strategy: StrategyName;
  mu: number;
  minClients?: number;
  target?: number;
  /**
   * FedBuff (buffered asynchronous aggregation) instead of synchronous rounds: `concurrency`
   * learners train at all times, every `buffer` results make a model version (a "round").
   */
  async: boolean;
  /** FedBuff: learners training at once. Default: the share `fraction` of `clients` (all of them by default). */
  concurrency?: number;
  /** FedBuff: results per model version. Default: half of `concurrency` (at least 1). */
  buffer?: number;
  /** Secure aggregation (`--secure`): the trainer sees only the sum of each round's updates. */
  secure?: SecureAggregationOptions;
  /**
   * Client-level differential privacy (DP-FedAvg): updates clipped to `clip`, noise of std
   * noiseMultiplier x clip on their sum, epsilon at `delta` reported every round; the run stops at
   * `budget`. `mode` central (default): the trainer clips and noises; distributed: each learner clips
   * its own update and adds its share of the noise (the mode that composes with `secure`).
   */
  privacy?: {
    noiseMultiplier: number;
    clip: number;
    delta?: number;
    budget?: number;
    mode?: 'central' | 'distributed';
  };
  /** Compressed updates (`--codec`, `--codec-down`, `--topk-fraction`): the codecs of updates and model. */
  codecs?: CodecOptions;
}

/** The FedBuff schedule `--async` runs, its defaults filled in. */
export function demoSchedule(options: DemoRunOptions): {
  name: 'fedbuff';
  concurrency: number;
  buffer: number;
} {
  const concurrency = options.concurrency ?? Math.max(1, Math.round(options.fraction * options.clients));
  return { name: 'fedbuff', concurrency, buffer: options.buffer ?? Math.max(1, Math.floor(concurrency / 2)) };
}

/**
 * Learners a round waits for, and the results it needs: `minClients` if given, else what
 * `fraction` of `clients` selects (at least 1). Defaulting to every learner would make a round of
 * `--clients 100 --fraction 0.1` select all 100 (a round selects at least the results it needs)
 * and fail when any one of them did.
 */
export function demoMinClients(options: DemoRunOptions): number {
  return options.minClients ?? Math.max(1, Math.round(options.fraction * options.clients));
}

/** How the demo's trainer node runs: its id, a heartbeat (interval ms; timeout three times it) or none, a token. */
export interface DemoTrainerOptions {
  id: string;
  heartbeat?: number;
  token?: string;
}

/**
 * The demo's run as a run config, the shape `oiafed serve` reads from YAML: its trainer node and
 * its federation (a strategy by name, of the 2NN, seeded; synchronous rounds or FedBuff). Calls
 * have no timeout of their own: a learner training synchronously cannot answer, and the round deadline (if any) is the
 * federation's to enforce. A run ends with a failed round's error rather than waiting for
 * learners that will not come.
 */
export function demoConfig(options: DemoRunOptions, trainer: DemoTrainerOptions): RunConfig {
  return resolveConfig({
    node: { id: trainer.id, role: 'trainer' },
    ...(trainer.token ? { transport: { token: trainer.token } } : {}),
    timeouts: { request: 0 },
    heartbeat: trainer.heartbeat ? { interval: trainer.heartbeat, timeout: trainer.heartbeat * 3 } : false,
    federation: {
      rounds: options.rounds,
      minClients: demoMinClients(options),
      fraction: options.fraction,
      seed: options.seed,
      strategy: { name: options.strategy, options: options.strategy === 'fedprox' ? { mu: options.mu } : {} },
      train: { epochs: options.epochs, batchSize: options.batchSize, lr: options.lr },
      schedule: options.async ? demoSchedule(options) : { name: 'sync' },
      onRoundFailure: 'stop',
      ...(options.secure ? { secureAggregation: options.secure } : {}),
      ...(options.privacy ? { privacy: options.privacy } : {}),
      ...(options.codecs ? { codecs: options.codecs } : {}),
    },
  });
}

/** The demo's trainer node, from its run config. */
export function createDemoTrainer(options: DemoRunOptions, trainer: DemoTrainerOptions): Node {
  return createNode(demoConfig(options, trainer));
}

/**
 * The demo's federation on `node` (from `createDemoTrainer`), from its run config, evaluating the
 * global model on `test` after every round. The same in every mode; only where the learners run differs.
 */
export function createDemoFederation(
  node: Node,
  options: DemoRunOptions,
  test: Dataset,
  store?: CheckpointStore,
): { federation: Federation; dispose: () => void } {
  const evaluator = createModel(options.seed);
  const config = demoConfig(options, { id: node.id });
  const { federation } = createFederation(config, {
    node,
    ...(store ? { store } : {}),
    initialWeights: modelWeights(evaluator),
    evaluate: (weights) => {
      setModelWeights(evaluator, weights);
      return evaluateModel(evaluator, test);
    },
    stopWhen: (summary) =>
      options.target !== undefined && (summary.evalMetrics.accuracy ?? 0) >= options.target,
  });
  return { federation, dispose: () => evaluator.dispose() };
}
