import { createFederation, resolveConfig, type CheckpointStore, type Federation, type Node } from '@oiafed/core';
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
  trainer: 'fedavg' | 'fedprox';
  mu: number;
  minClients?: number;
  target?: number;
}

/**
 * The demo's federation on `node`: FedAvg (or FedProx) of the 2NN, seeded, evaluating the global
 * model on `test` after every round. The same in every mode; only where the learners run differs.
 */
export function createDemoFederation(node: Node, options: DemoRunOptions, test: Dataset, store?: CheckpointStore): { federation: Federation; dispose(): void } {
  const evaluator = createModel(options.seed);
  const config = resolveConfig({
    node: { id: node.id, role: node.role },
    federation: {
      rounds: options.rounds,
      minClients: options.minClients ?? options.clients,
      fraction: options.fraction,
      seed: options.seed,
      trainer: { name: options.trainer, options: { mu: options.mu } },
      train: { epochs: options.epochs, batchSize: options.batchSize, lr: options.lr },
      // A demo run ends with its error rather than waiting for learners that will not come.
      onRoundFailure: 'stop',
    },
  });
  const { federation } = createFederation(config, {
    node,
    ...(store ? { store } : {}),
    initialWeights: modelWeights(evaluator),
    evaluate: (weights) => {
      setModelWeights(evaluator, weights);
      return evaluateModel(evaluator, test);
    },
    stopWhen: (summary) => options.target !== undefined && (summary.evalMetrics.accuracy ?? 0) >= options.target,
  });
  return { federation, dispose: () => evaluator.dispose() };
}
