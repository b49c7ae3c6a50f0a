export { spawnLearners } from './spawn-learners.js';
export type { SpawnLearnersOptions, WorkerLearners } from './spawn-learners.js';
export { hostLearnersInWorker } from './host-learners.js';
export { joinFederation } from './join-federation.js';
export { createPeer, serveWebRtc } from './webrtc.js';
export type { JoinFederationOptions, JoinOverWebRtcOptions, PeerOptions, OpenPeer } from '@oiafed/core';
export { sessionResumeStore } from './session-resume-store.js';
