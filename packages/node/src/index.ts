export { FileCheckpointStore } from './file-checkpoint-store.js';
export { loadConfig, parseConfig } from './config-file.js';
