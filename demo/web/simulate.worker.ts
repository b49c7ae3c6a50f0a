// The Web Worker of the one-tab simulation: hosts the learners the page gives it, each on its share
// of the digits (every worker rebuilds the same seeded split as the page), sharing one model.
import { hostLearnersInWorker } from '@oiafed/browser';
import type { LearnerContext } from '@oiafed/core';
import { demoLearner } from '../src/demo-learner.js';
import { partition, trainTestSplit, type Dataset } from '../src/mnist.js';
import { ModelPool } from '../src/model-pool.js';
import { startPage } from './page-setup.js';
import type { WorkerLearnerData } from './tab-simulation.js';

let shards: Promise<Dataset[]> | undefined;
const models = new ModelPool(1);

async function shardsFor(options: WorkerLearnerData): Promise<Dataset[]> {
  const digits = await startPage();
  const { train } = trainTestSplit(digits, options.trainSize, options.testSize, options.seed);
  return partition(train, options.clients, options.split, options.seed);
}

await hostLearnersInWorker(async ({ index, data }: LearnerContext) => {
  const options = data as WorkerLearnerData;
  shards ??= shardsFor(options);
  return demoLearner((await shards)[index]!, index, options, models);
});
