import { type LearnerFactory, type Node } from '@oiafed/core';
import {
  answerHostRequest,
  eventTargetEndpoint,
  isHostRequest,
  type MessageTargetLike,
} from '@oiafed/core/internal';

/**
 * Call in a Web Worker module: hosts the learners a `spawnLearners` on the page asks for, each made
 * by `factory` and joined to the trainer over its own port. Resolves with their nodes.
 */
export function hostLearnersInWorker(factory: LearnerFactory): Promise<Node[]> {
  const scope = globalThis as unknown as MessageTargetLike;
  return new Promise((resolve) => {
    const onMessage = (event: { data: unknown }) => {
      const request = event.data;
      if (!isHostRequest(request)) return;
      scope.removeEventListener('message', onMessage);
      const ports = (request.ports as MessagePort[]).map((port) => eventTargetEndpoint(port));
      void answerHostRequest(
        (reply) => scope.postMessage(reply, []),
        request,
        ports,
        async () => factory,
      ).then(resolve);
    };
    scope.addEventListener('message', onMessage);
  });
}
