import type { Node } from '../rpc/node.js';
import { withLearnerCodecs } from './codecs/learner-codecs.js';
import type { Learner } from './learner.js';
import { withLearnerPrivacy } from './privacy/learner-privacy.js';
import { SecureAggregationClient } from './secure/learner-side.js';
import { SECURE_AGGREGATION_METHODS } from './secure/messages.js';

/**
 * Serves a learner on its node with the learner's side of the privacy protocols the SDK ships, so a
 * trainer that asks for them runs with a learner that wrote nothing for them: its own methods (train,
 * evaluate, getWeights, setWeights and any custom one) wrapped for distributed differential privacy
 * (clip and noise its own update when the training request says so), and secure aggregation's
 * phases. Secure aggregation trains through the same wrapper, so the two compose: the update is
 * clipped and noised before it is masked. Outermost, compressed updates: the codecs it supports,
 * the model decoded, the (clipped, noised) update encoded as a delta, top-k's residual kept here
 * between rounds and across reconnects of the node. Every place that serves learners
 * (joinFederation, worker hosts, memory learners) goes through here. Returns what withdraws them.
 */
export function serveLearner(node: Node, learner: Learner | object): () => void {
  const served = withLearnerPrivacy(learner);
  const own = node.serve(withLearnerCodecs(served));
  const secure = node.serve(new SecureAggregationClient(served as Learner), {
    methods: SECURE_AGGREGATION_METHODS,
  });
  return () => {
    own();
    secure();
  };
}
