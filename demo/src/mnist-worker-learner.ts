// The learner module of `--mode worker`: each worker thread loads it, rebuilds the same seeded
// split as the trainer would, and makes the learners it hosts from their shares.
import type { LearnerContext } from '@oiafed/core';
import { partition, trainTestSplit, type Dataset } from './mnist.js';
import { loadMnist } from './mnist-node.js';
import type { MnistLearner } from './mnist-learner.js';
import { useBackend } from './model.js';
import { demoLearner } from './demo-learner.js';
import type { DemoOptions } from './simulate.js';

let shards: Dataset[] | undefined;

export default async function createLearner({ index, data }: LearnerContext): Promise<MnistLearner> {
  const options = data as DemoOptions;
  await useBackend(options.backend);
  shards ??= partition(
    trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed).train,
    options.clients,
    options.split,
    options.seed,
  );
  return demoLearner(shards[index]!, index, options);
}
