// The worker_threads entry of spawnLearners: loads the user's learner module, then hosts the
// learners the parent asks for, each on its own MessagePort link to the trainer.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { answerHostRequest, factoryOf, isHostRequest } from '@oiafed/core/internal';
import { importLearnerModule } from './learner-module.js';
import { nodePortEndpoint } from './node-port.js';

const { module, preload } = workerData as { module: string; preload: string[] };
// Run from the SDK's sources, this entry was itself loaded through tsx (ts-worker-entry.mjs).
const tsxActive = import.meta.url.endsWith('.ts');
const control = parentPort!;

control.once('message', (message: unknown) => {
  if (!isHostRequest(message)) return;
  const ports = (message.ports as MessagePort[]).map(nodePortEndpoint);
  void answerHostRequest(
    (reply) => control.postMessage(reply),
    message,
    ports,
    async () => factoryOf(await importLearnerModule(module, preload, tsxActive), module),
  );
});
