// The worker_threads entry of spawnLearners: loads the user's learner module, then hosts the
// learners the parent asks for, each on its own MessagePort link to the trainer.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { answerHostRequest, factoryOf, isHostRequest } from '@oiafed/core/internal';
import { nodePortEndpoint } from './node-port.js';

const { module } = workerData as { module: string };
const control = parentPort!;

control.once('message', (message: unknown) => {
  if (!isHostRequest(message)) return;
  const ports = (message.ports as MessagePort[]).map(nodePortEndpoint);
  void answerHostRequest(
    (reply) => control.postMessage(reply),
    message,
    ports,
    async () => {
      let loaded: Record<string, unknown>;
      try {
        loaded = (await import(module)) as Record<string, unknown>;
      } catch (error) {
        throw new Error(`learner module ${module} failed to load: ${(error as Error).message}`);
      }
      return factoryOf(loaded, module);
    },
  );
});
