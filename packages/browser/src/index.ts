export { spawnLearners } from './spawn-learners.js';
export type { SpawnLearnersOptions, WorkerLearners } from './spawn-learners.js';
export { hostLearnersInWorker } from './host-learners.js';
export { joinFederation } from './join-federation.js';
export type { JoinFederationOptions } from '@oiafed/core';
