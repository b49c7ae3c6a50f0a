import { createTrainer, Federation, joinInMemory, Node, type FederationResult, type RoundSummary } from '@oiafed/core';
import { spawnLearners } from '@oiafed/node';
import { loadMnist, partition, trainTestSplit } from './mnist.js';
import { MnistLearner } from './mnist-learner.js';
import { createModel, evaluateModel, modelWeights, setModelWeights, useBackend } from './model.js';

export interface DemoOptions {
  clients: number;
  fraction: number;
  epochs: number;
  batchSize: number | 'full';
  rounds: number;
  lr: number;
  split: 'iid' | 'noniid';
  seed: number;
  trainer: 'fedavg' | 'fedprox';
  mu: number;
  /** memory: every node in this process; worker: learners in worker_threads (a pool of one per core). */
  mode: 'memory' | 'worker';
  /** Worker threads for mode worker; default one per core. */
  workers?: number;
  /** Stop at the first round whose global test accuracy reaches this. */
  target?: number;
  trainSize: number;
  testSize: number;
  backend: 'wasm' | 'cpu';
}

export const DEFAULT_DEMO: DemoOptions = {
  clients: 10,
  fraction: 1,
  epochs: 1,
  batchSize: 10,
  rounds: 10,
  lr: 0.05,
  split: 'iid',
  seed: 1,
  trainer: 'fedavg',
  mu: 0.01,
  mode: 'memory',
  trainSize: 8_000,
  testSize: 2_000,
  backend: 'wasm',
};

export interface DemoHooks {
  onRoundStarted?(round: number, clients: number): void;
  onClientResult?(round: number, done: number, of: number): void;
  onRound?(summary: RoundSummary, elapsedMs: number): void;
}

export interface DemoResult extends FederationResult {
  /** The first round whose global test accuracy reached the target, if one did. */
  targetRound: number | undefined;
  finalAccuracy: number;
  bestAccuracy: number;
}

/**
 * A whole federation on this machine: one trainer node and one node per learner, running FedAvg
 * (or FedProx) on MNIST with the 2NN; the trainer evaluates the global model on the held-out test
 * set after every round. The trainer and learner code are the same in both modes; only how the
 * learners are started differs.
 */
export async function runDemo(options: DemoOptions, hooks: DemoHooks = {}): Promise<DemoResult> {
  await useBackend(options.backend);
  const { test } = trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed);
  // Calls have no timeout of their own and links no heartbeat: a learner training synchronously
  // cannot answer pings, and the round deadline (if any) is the federation's to enforce.
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false, timeout: 0 });
  const stopLearners = options.mode === 'worker' ? await startInWorkers(trainer, options) : await startInMemory(trainer, options);

  const evaluator = createModel(options.seed);
  const federation = new Federation({
    node: trainer,
    trainer: createTrainer(options.trainer, { mu: options.mu }),
    rounds: options.rounds,
    selection: options.fraction >= 1 ? 'all' : { fraction: options.fraction },
    seed: options.seed,
    initialWeights: modelWeights(evaluator),
    config: { epochs: options.epochs, batchSize: options.batchSize, lr: options.lr },
    evaluate: (weights) => {
      setModelWeights(evaluator, weights);
      return evaluateModel(evaluator, test);
    },
    stopWhen: (summary) => options.target !== undefined && (summary.evalMetrics.accuracy ?? 0) >= options.target,
  });
  const started = Date.now();
  let selected = 0;
  let done = 0;
  federation.events.on('ROUND_STARTED', ({ round, clients }) => {
    selected = clients.length;
    done = 0;
    hooks.onRoundStarted?.(round, selected);
  });
  federation.events.on('CLIENT_RESULT', ({ round }) => hooks.onClientResult?.(round, ++done, selected));
  federation.events.on('ROUND_FINISHED', (summary) => hooks.onRound?.(summary, Date.now() - started));
  try {
    const result = await federation.start();
    const accuracies = result.history.map((r) => r.evalMetrics.accuracy ?? 0);
    const reached = options.target === undefined ? -1 : accuracies.findIndex((a) => a >= options.target!);
    return {
      ...result,
      targetRound: reached >= 0 ? result.history[reached]!.round : undefined,
      finalAccuracy: accuracies[accuracies.length - 1] ?? 0,
      bestAccuracy: Math.max(0, ...accuracies),
    };
  } finally {
    await stopLearners();
    trainer.close();
    evaluator.dispose();
  }
}

async function startInMemory(trainer: Node, options: DemoOptions): Promise<() => Promise<void>> {
  const { train } = trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed);
  const shards = partition(train, options.clients, options.split, options.seed);
  const learners = shards.map((shard, i) => {
    const node = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false, timeout: 0 });
    node.serve(new MnistLearner(shard, options.seed * 100 + i));
    return node;
  });
  await Promise.all(learners.map((node, i) => joinInMemory(trainer, node, { metadata: { examples: shards[i]!.count } })));
  return async () => learners.forEach((node) => node.close());
}

async function startInWorkers(trainer: Node, options: DemoOptions): Promise<() => Promise<void>> {
  const learners = await spawnLearners({
    trainer,
    module: new URL('./mnist-worker-learner.ts', import.meta.url),
    count: options.clients,
    ...(options.workers === undefined ? {} : { workers: options.workers }),
    data: options,
    node: { heartbeat: false, timeout: 0 },
  });
  return () => learners.terminate();
}
