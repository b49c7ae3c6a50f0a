import { joinInMemory, Node, serveLearner } from '@oiafed/core';
import type { Dataset } from './mnist.js';
import { demoLearner } from './demo-learner.js';
import type { ModelPool } from './model-pool.js';

/**
 * The demo's learners as nodes in this realm (Node or a tab), one per shard, joined to `trainer` in
 * memory; `first` is the first shard's learner index (its id's number). Resolves with a function
 * that closes them.
 */
export async function joinMemoryLearners(
  trainer: Node,
  shards: readonly Dataset[],
  options: { clients: number; seed: number; slow: number },
  models?: ModelPool,
  first = 0,
): Promise<() => void> {
  const learners = shards.map((shard, i) => {
    const node = new Node({ id: `learner-${first + i}`, role: 'learner', heartbeat: false, timeout: 0 });
    serveLearner(node, demoLearner(shard, first + i, options, models));
    return node;
  });
  await Promise.all(
    learners.map((node, i) => joinInMemory(trainer, node, { metadata: { examples: shards[i]!.count } })),
  );
  return () => learners.forEach((node) => node.close());
}
