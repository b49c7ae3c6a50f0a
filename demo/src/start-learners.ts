// How each mode starts the demo's learners under their homes (the trainer, or each aggregator).
import type { FederationMember } from '@oiafed/core';
import {
  joinFederation,
  servePeerSignalling,
  serveWebRtc,
  serveWebSocket,
  spawnLearners,
  type DashboardPage,
  type OpenPeer,
  type WebSocketTrainerServer,
  type WorkerLearners,
} from '@oiafed/node';
import type { Home } from './aggregators.js';
import { demoLearner } from './demo-learner.js';
import { joinMemoryLearners } from './memory-learners.js';
import { partition, trainTestSplit } from './mnist.js';
import { loadMnist } from './mnist-node.js';
import type { DemoHooks, DemoOptions } from './simulate.js';

/** Learners started, and the trainer's WebSocket server where it serves one (the dashboard's too). */
export interface Started {
  stop: () => Promise<void>;
  server?: WebSocketTrainerServer;
}

/** Starts the learners of each home (the trainer, or every aggregator) in the chosen mode. */
export type StartLearners = (
  homes: readonly Home[],
  options: DemoOptions,
  hooks: DemoHooks,
  page: DashboardPage | undefined,
) => Promise<Started>;

export const startInMemory: StartLearners = async (homes, options) => {
  const { train } = trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed);
  const shards = partition(train, options.clients, options.split, options.seed);
  const closers = await Promise.all(
    homes.map(({ node, first, count }) =>
      joinMemoryLearners(node, shards.slice(first, first + count), options, undefined, first),
    ),
  );
  return { stop: async () => closers.forEach((close) => close()) };
};

export const startInWorkers: StartLearners = async (homes, options) => {
  const pools: WorkerLearners[] = [];
  const stop = async () => {
    await Promise.all(pools.map((pool) => pool.terminate()));
  };
  try {
    for (const { node, first, count } of homes)
      pools.push(
        await spawnLearners({
          trainer: node,
          module: new URL('./mnist-worker-learner.ts', import.meta.url),
          count,
          firstIndex: first,
          ...(options.workers === undefined ? {} : { workers: options.workers }),
          data: options,
          node: { heartbeat: false, timeout: 0 },
        }),
      );
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
};

export const startOverWebSocket: StartLearners = async (homes, options, hooks, page) => {
  const servers: WebSocketTrainerServer[] = [];
  const members: FederationMember[] = [];
  const stop = async () => {
    members.forEach((m) => m.close());
    await Promise.all(servers.map((server) => server.close()));
  };
  try {
    for (const [k, home] of homes.entries()) {
      // Aggregator k listens on the port after aggregator k - 1's (any free one with port 0).
      const port = options.port ?? 8787;
      const server = await serveWebSocket(home.node, {
        port: port === 0 ? 0 : port + k,
        host: '127.0.0.1',
        // The dashboard shares the trainer's port; under aggregators it has one of its own.
        ...(page && homes.length === 1 ? { http: page.handler } : {}),
      });
      servers.push(server);
      hooks.onListening?.(server.url, { server: server.url }, homeOf(home));
      members.push(...(await joinNodeLearners(options, home, { url: server.url })));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { ...(homes.length === 1 ? { server: servers[0]! } : {}), stop };
};

export const startOverWebRtc: StartLearners = async (homes, options, hooks) => {
  const own = options.signalling ? undefined : await servePeerSignalling({ port: options.port ?? 9000 });
  const signalling = options.signalling ?? `http://${own!.host}:${own!.port}${own!.path}`;
  const peers: OpenPeer[] = [];
  const members: FederationMember[] = [];
  const stop = async () => {
    members.forEach((m) => m.close());
    peers.forEach((peer) => peer.destroy());
    await own?.close();
  };
  try {
    for (const home of homes) {
      peers.push(await serveWebRtc(home.node, { signalling }));
      const trainer = home.node.id;
      hooks.onListening?.(signalling, { transport: 'webrtc', signalling, trainer }, homeOf(home));
      // A data channel opens in about a second or not at all (on a loaded 2-core machine one in a
      // few first attempts hung for the whole default 15 s): give up on one after 5 s and try again.
      const where = { signalling, trainer, link: { timeout: 5_000 } };
      members.push(...(await joinNodeLearners(options, home, where)));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
};

const homeOf = ({ node, first, count }: Home) => ({ id: node.id, first, count });

/** With `nodeLearners`, the home's learners in this process, joining it over the network. */
async function joinNodeLearners(
  options: DemoOptions,
  { first, count }: Home,
  where: { url: string } | { signalling: string; trainer: string; link: { timeout: number } },
): Promise<FederationMember[]> {
  if (!options.nodeLearners) return [];
  const { train } = trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed);
  const shards = partition(train, options.clients, options.split, options.seed);
  const members: FederationMember[] = [];
  try {
    for (let i = first; i < first + count; i++) {
      const learner = demoLearner(shards[i]!, i, options);
      members.push(
        await joinFederation({
          ...where,
          id: `learner-${i}`,
          learner,
          heartbeat: false,
          ...(options.token ? { token: options.token } : {}),
        }),
      );
    }
  } catch (error) {
    members.forEach((m) => m.close());
    throw error;
  }
  return members;
}
