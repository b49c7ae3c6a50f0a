import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { linearLearner } from './linear-learner.test-support.js';
import { modeConformance, type Mode } from './mode-conformance.test-support.js';
import { serveLearner } from './serve-learner.js';

/** Learners in this process (or this tab: the core's tests also run in Chromium), over memory links. */
const inMemory = (strict: boolean): Mode => ({
  name: strict
    ? 'strict memory: every frame through the codec, as on a wire'
    : 'memory: frames handed over by reference',
  async join(trainer, count) {
    const learners = Array.from(
      { length: count },
      (_, index) => new Node({ id: `learner-${index}`, role: 'learner', heartbeat: false }),
    );
    for (const [index, node] of learners.entries()) {
      serveLearner(node, linearLearner(index));
      await joinInMemory(trainer, node, { strict });
    }
    return () => learners.forEach((node) => node.close());
  },
});

modeConformance([inMemory(false), inMemory(true)]);
