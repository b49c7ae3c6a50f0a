export { FileCheckpointStore } from './file-checkpoint-store.js';
export { loadConfig, parseConfig } from './config-file.js';
export { spawnLearners } from './spawn-learners.js';
export type { SpawnLearnersOptions, WorkerLearners } from './spawn-learners.js';
export { nodePortEndpoint } from './node-port.js';
export { serveWebSocket } from './web-socket-server.js';
export type { WebSocketServerOptions, WebSocketTrainerServer } from './web-socket-server.js';
export { joinFederation } from './join-federation.js';
export type { JoinFederationOptions } from '@oiafed/core';
