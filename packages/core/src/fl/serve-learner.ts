import type { Node } from '../rpc/node.js';
import type { Learner } from './learner.js';
import { withLearnerPrivacy } from './privacy/learner-privacy.js';

/**
 * Serves a learner on its node with the learner's side of the privacy protocols the SDK ships, so a
 * trainer that asks for them runs with a learner that wrote nothing for them: distributed
 * differential privacy (clip and noise its own update when the training request says so). Every
 * place that serves learners (joinFederation, worker hosts, memory learners) goes through here.
 * Returns what withdraws them.
 */
export function serveLearner(node: Node, learner: Learner | object): () => void {
  return node.serve(withLearnerPrivacy(learner));
}
