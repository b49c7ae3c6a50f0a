import type { Node } from '../rpc/node.js';
import type { Learner } from './learner.js';
import { SecureAggregationClient } from './secure/learner-side.js';
import { SECURE_AGGREGATION_METHODS } from './secure/messages.js';

/**
 * Serves a learner on its node: its own methods (train, evaluate, getWeights, setWeights and any
 * custom one), and the learner's side of secure aggregation, so a trainer with
 * `secureAggregation` set can run it with a learner that wrote nothing for it. Every place that
 * serves learners (joinFederation, worker hosts, memory learners) goes through here. Returns what
 * withdraws them.
 */
export function serveLearner(node: Node, learner: Learner | object): () => void {
  const own = node.serve(learner);
  const secure = node.serve(new SecureAggregationClient(learner as Learner), {
    methods: SECURE_AGGREGATION_METHODS,
  });
  return () => {
    own();
    secure();
  };
}
