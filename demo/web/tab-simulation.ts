// A whole federation in this tab: the trainer, and its learners either in this tab's memory or in
// Web Workers. The same trainer and learner code as every other mode.
import { spawnLearners } from '@oiafed/browser';
import type { Federation, FederationResult, Node } from '@oiafed/core';
import { aggregatorsProblem, rootOptions, serveDemoAggregators, type Home } from '../src/aggregators.js';
import { createDemoFederation, createDemoTrainer, type DemoRunOptions } from '../src/demo-federation.js';
import { joinMemoryLearners } from '../src/memory-learners.js';
import { partition, trainTestSplit, type Dataset } from '../src/mnist.js';
import { ModelPool } from '../src/model-pool.js';

export interface TabSimulationOptions extends DemoRunOptions {
  split: 'iid' | 'noniid';
  /** memory: every learner a node on this tab's thread; workers: learners spread over Web Workers. */
  where: 'memory' | 'workers';
  /** Web Workers for `where: 'workers'`; default one per core (per aggregator, with `aggregators`). */
  workers?: number;
  /** Aggregators between the trainer and the learners, in this tab (see the demo's `--aggregators`). */
  aggregators?: number;
  trainSize: number;
  testSize: number;
  /** The share of learners that are 10x slower (see demoLearner). */
  slow: number;
}

/** What a worker needs to make its learners: the options, as plain data. */
export type WorkerLearnerData = Omit<TabSimulationOptions, 'where' | 'workers' | 'aggregators'>;

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
  const problem = aggregatorsProblem(options);
  if (problem !== undefined) throw new Error(problem);
  const { aggregators = 0 } = options;
  const run = aggregators ? rootOptions(options, aggregators) : options;
  const node = createDemoTrainer(run, { id: 'trainer' });
  const tree = aggregators ? await serveDemoAggregators(node, options, aggregators) : undefined;
  const homes: Home[] = tree?.homes ?? [{ node, first: 0, count: options.clients }];
  const closers: (() => Promise<void> | void)[] = [];
  if (options.where === 'memory') {
    // A few models shared by all learners: they compute one at a time on this thread anyway.
    const models = new ModelPool(2);
    const shards = partition(train, options.clients, options.split, options.seed);
    for (const { node: home, first, count } of homes)
      closers.push(
        await joinMemoryLearners(home, shards.slice(first, first + count), options, models, first),
      );
    closers.push(() => models.dispose());
  } else {
    const { where: _where, workers, aggregators: _aggregators, ...data } = options;
    for (const { node: home, first, count } of homes) {
      const learners = await spawnLearners({
        trainer: home,
        count,
        firstIndex: first,
        createWorker,
        name: 'simulate.worker.ts',
        data: data satisfies WorkerLearnerData,
        node: { heartbeat: false, timeout: 0 },
        ...(workers === undefined ? {} : { workers }),
      });
      closers.push(() => learners.terminate());
    }
  }
  const { federation, dispose } = createDemoFederation(node, run, test);
  const done = (async () => {
    try {
      if (tree)
        await Promise.all(tree.homes.map((home) => home.federation.waitForClients(home.count, 60_000)));
      await federation.waitForClients(run.clients, 60_000);
      return await federation.start();
    } finally {
      for (const close of closers) await close();
      tree?.close();
      node.close();
      dispose();
    }
  })();
  return { node, federation, done };
}
