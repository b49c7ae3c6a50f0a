// A whole federation in this tab: the trainer, and its learners either in this tab's memory or in
// Web Workers. The same trainer and learner code as every other mode.
import { spawnLearners } from '@oiafed/browser';
import type { Federation, FederationResult, Node } from '@oiafed/core';
import { createDemoFederation, createDemoTrainer, type DemoRunOptions } from '../src/demo-federation.js';
import { joinMemoryLearners } from '../src/memory-learners.js';
import { partition, trainTestSplit, type Dataset } from '../src/mnist.js';
import { ModelPool } from '../src/model-pool.js';

export interface TabSimulationOptions extends DemoRunOptions {
  split: 'iid' | 'noniid';
  /** memory: every learner a node on this tab's thread; workers: learners spread over Web Workers. */
  where: 'memory' | 'workers';
  /** Web Workers for `where: 'workers'`; default one per core. */
  workers?: number;
  trainSize: number;
  testSize: number;
  /** The share of learners that are 10x slower (see demoLearner). */
  slow: number;
}

/** What a worker needs to make its learners: the options, as plain data. */
export type WorkerLearnerData = Omit<TabSimulationOptions, 'where' | 'workers'>;

export interface TabSimulation {
  node: Node;
  federation: Federation;
  /** Settles when the run ends; the learners are closed by then. */
  done: Promise<FederationResult>;
}

/**
 * Starts the trainer and its learners, waits for them all, and starts the run. `digits`: the MNIST
 * digits (the page fetched them); workers fetch their own.
 */
export async function startTabSimulation(
  digits: Dataset,
  options: TabSimulationOptions,
  createWorker: (index: number) => Worker,
): Promise<TabSimulation> {
  const { train, test } = trainTestSplit(digits, options.trainSize, options.testSize, options.seed);
  const node = createDemoTrainer(options, { id: 'trainer' });
  let closeLearners: () => Promise<void> | void;
  if (options.where === 'memory') {
    // A few models shared by all learners: they compute one at a time on this thread anyway.
    const models = new ModelPool(2);
    const close = await joinMemoryLearners(
      node,
      partition(train, options.clients, options.split, options.seed),
      options,
      models,
    );
    closeLearners = () => {
      close();
      models.dispose();
    };
  } else {
    const { where: _where, workers, ...data } = options;
    const learners = await spawnLearners({
      trainer: node,
      count: options.clients,
      createWorker,
      name: 'simulate.worker.ts',
      data: data satisfies WorkerLearnerData,
      node: { heartbeat: false, timeout: 0 },
      ...(workers === undefined ? {} : { workers }),
    });
    closeLearners = () => learners.terminate();
  }
  const { federation, dispose } = createDemoFederation(node, options, test);
  const done = (async () => {
    try {
      await federation.waitForClients(options.clients, 60_000);
      return await federation.start();
    } finally {
      await closeLearners();
      node.close();
      dispose();
    }
  })();
  return { node, federation, done };
}
