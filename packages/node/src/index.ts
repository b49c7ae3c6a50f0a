export { FileCheckpointStore } from './file-checkpoint-store.js';
export { loadConfig, parseConfig } from './config-file.js';
export { spawnLearners } from './spawn-learners.js';
export type { SpawnLearnersOptions, WorkerLearners } from './spawn-learners.js';
export { nodePortEndpoint } from './node-port.js';
