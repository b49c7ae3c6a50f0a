import { modeConformance, type Mode } from '../../core/src/fl/mode-conformance.test-support.js';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { joinFederation } from './join-federation.js';
import { spawnLearners } from './spawn-learners.js';
import { servePeerSignalling, serveWebRtc } from './webrtc.js';
import { serveWebSocket } from './web-socket-server.js';

const workerThreads: Mode = {
  name: 'worker_threads: learners in worker threads, weights moved by transfer',
  async join(trainer, count) {
    const learners = await spawnLearners({
      trainer,
      module: new URL('./fixtures/linear-learner.fixture.ts', import.meta.url),
      count,
    });
    return () => learners.terminate();
  },
};

const webSocket: Mode = {
  name: 'WebSocket: Node learners joining a ws server with joinFederation',
  async join(trainer, count) {
    const server = await serveWebSocket(trainer);
    const members = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        joinFederation({
          url: server.url,
          id: `learner-${index}`,
          learner: linearLearner(index),
          heartbeat: false,
        }),
      ),
    );
    return async () => {
      members.forEach((member) => member.close());
      await server.close();
    };
  },
};

const webRtc: Mode = {
  name: 'WebRTC: Node learners over PeerJS data channels (node-datachannel), introduced by a signalling server',
  async join(trainer, count) {
    const signalling = await servePeerSignalling({ port: 0 });
    const peer = await serveWebRtc(trainer, { signalling });
    const members = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        joinFederation({
          signalling,
          trainer: 'trainer',
          id: `learner-${index}`,
          learner: linearLearner(index),
          heartbeat: false,
        }),
      ),
    );
    return async () => {
      members.forEach((member) => member.close());
      peer.destroy();
      await signalling.close();
    };
  },
};

modeConformance([workerThreads, webSocket, webRtc]);
