import {
  OiafedError,
  type CheckpointStore,
  type Federation,
  type FederationResult,
  type RoundSummary,
} from '@oiafed/core';
import { dashboardPage, FileCheckpointStore, serveDashboard } from '@oiafed/node';
import { aggregatorsProblem, rootOptions, serveDemoAggregators, type Home } from './aggregators.js';
import { trainTestSplit } from './mnist.js';
import { loadMnist } from './mnist-node.js';
import {
  createDemoFederation,
  createDemoTrainer,
  demoSchedule,
  type DemoRunOptions,
} from './demo-federation.js';
import { useBackend } from './model.js';
import { startInMemory, startInWorkers, startOverWebRtc, startOverWebSocket } from './start-learners.js';

export interface DemoOptions extends DemoRunOptions {
  split: 'iid' | 'noniid';
  /**
   * memory: every node in this process; worker: learners in worker_threads (a pool of one per
   * core); websocket: the trainer serves WebSocket and waits for `clients` learners (browser tabs
   * of the learner page, or with `nodeLearners` learners in this process over real sockets);
   * webrtc: the same, learners reaching the trainer's peer over data channels (PeerJS).
   */
  mode: 'memory' | 'worker' | 'websocket' | 'webrtc';
  /** Worker threads for mode worker; default one per core (per aggregator, with `aggregators`). */
  workers?: number;
  /**
   * Aggregators between the trainer and the learners (a two-level hierarchy, in this process):
   * each is the trainer of a block of the learners (`shareOf`), in the chosen mode (websocket: a
   * server each, on `port` + k; webrtc: peers aggregator-k at the one signalling server), and a
   * learner of the trainer, which runs its rounds over them. Synchronous FedAvg or FedProx only;
   * no `secure`, `privacy` or `codecs`. Default none: learners join the trainer.
   */
  aggregators?: number;
  /** websocket: the port to serve on; webrtc: the signalling server's (0: any free one). */
  port?: number;
  /** webrtc: a PeerJS signalling server to use (e.g. http://10.0.0.2:9000/) instead of starting one on `port`. */
  signalling?: string;
  /** websocket, webrtc: a token learners must present. */
  token?: string;
  /**
   * Serve the live dashboard: on the trainer's WebSocket port (websocket mode), else on `port`
   * (default 8788); `adminToken` enables its pause, resume and stop.
   */
  dashboard?: { adminToken?: string; port?: number };
  /** websocket, webrtc: start the `clients` learners in this process, joining over the network. */
  nodeLearners?: boolean;
  /** A file to checkpoint every round to; a restart with the same file resumes from it. */
  checkpoint?: string;
  /**
   * Liveness of the trainer's links: ping interval (timeout three times it). Default off in memory and worker
   * modes.
   */
  heartbeat?: number;
  trainSize: number;
  testSize: number;
  backend: 'wasm' | 'cpu';
  /**
   * The share of learners, in [0, 1), that simulate a device SLOWDOWN (10) times slower: which
   * ones is drawn from the seed (`slowLearners`). Learners this process starts (memory, worker,
   * Node learners over the network); 0: none.
   */
  slow: number;
}

export const DEFAULT_DEMO: DemoOptions = {
  clients: 10,
  fraction: 1,
  epochs: 1,
  batchSize: 10,
  rounds: 10,
  lr: 0.05,
  split: 'iid',
  seed: 1,
  strategy: 'fedavg',
  mu: 0.01,
  mode: 'memory',
  trainSize: 8_000,
  testSize: 2_000,
  backend: 'wasm',
  async: false,
  slow: 0,
};

export interface DemoHooks {
  /**
   * websocket and webrtc modes: learners can join at `address` (a ws:// URL, or the signalling
   * server's); `page` is the learner page's query for that (server=..., or transport=webrtc&...);
   * `home` is who serves there (the trainer, or an aggregator) and which learners are its.
   */
  onListening?(
    address: string,
    page: Record<string, string>,
    home: { id: string; first: number; count: number },
  ): void;
  /** The run's federation, made: before it waits for learners or runs (e.g. to show its progress). */
  onFederation?(federation: Federation): void;
  /** The dashboard is served at `url` (with `dashboard`). */
  onDashboard?(url: string): void;
  /** A checkpoint was found: the run continues after `round`. */
  onResume?(round: number): void;
  /** A learner joined (again), or its link closed. */
  onLearner?(id: string, event: 'joined' | 'disconnected', reason?: string): void;
  onRoundStarted?(round: number, clients: number): void;
  /**
   * A learner's training result came in: `done` of the `of` the round waits for (under FedBuff,
   * of the buffer; a result may belong to an older version's training), `ms` after it was asked.
   */
  onClientResult?(info: { round: number; client: string; ms: number; done: number; of: number }): void;
  /** `elapsedMs`: since the federation started (after every learner joined). */
  onRound?(summary: RoundSummary, elapsedMs: number): void;
}

export interface DemoResult extends FederationResult {
  /** The first round whose global test accuracy reached the target, if one did. */
  targetRound: number | undefined;
  finalAccuracy: number;
  bestAccuracy: number;
}

/**
 * A whole federation on this machine: one trainer node and one node per learner, running FedAvg
 * (or FedProx) on MNIST with the 2NN; the trainer evaluates the global model on the held-out test
 * set after every round. The trainer and learner code are the same in both modes; only how the
 * learners are started differs.
 */
export async function runDemo(options: DemoOptions, hooks: DemoHooks = {}): Promise<DemoResult> {
  await useBackend(options.backend);
  const { test } = trainTestSplit(loadMnist(), options.trainSize, options.testSize, options.seed);
  const problem = aggregatorsProblem(options);
  if (problem !== undefined) throw new OiafedError('INVALID_CONFIG', problem);
  const { aggregators = 0 } = options;
  const run = aggregators ? rootOptions(options, aggregators) : options;
  // Links have no heartbeat unless asked: a learner training synchronously cannot answer pings.
  const trainer = createDemoTrainer(run, {
    id: 'trainer',
    ...(options.heartbeat ? { heartbeat: options.heartbeat } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const tree = aggregators ? await serveDemoAggregators(trainer, options, aggregators) : undefined;
  const homes: Home[] = tree?.homes ?? [{ node: trainer, first: 0, count: options.clients }];
  // Dashboards join as observers: not learners, not news.
  for (const { node } of homes) {
    node.events.on('CLIENT_REGISTERED', (c) => c.role === 'learner' && hooks.onLearner?.(c.id, 'joined'));
    node.events.on(
      'CLIENT_DISCONNECTED',
      (c) => c.role === 'learner' && hooks.onLearner?.(c.id, 'disconnected', c.reason),
    );
  }
  const page = options.dashboard ? await dashboardPage() : undefined;
  const start = {
    memory: startInMemory,
    worker: startInWorkers,
    websocket: startOverWebSocket,
    webrtc: startOverWebRtc,
  }[options.mode];
  const learners = await start(homes, options, hooks, page).catch((error: unknown) => {
    tree?.close();
    trainer.close();
    throw error;
  });

  const store: CheckpointStore | undefined = options.checkpoint
    ? new FileCheckpointStore(options.checkpoint)
    : undefined;
  const saved = await store?.load();
  if (saved) hooks.onResume?.(saved.round);
  const { federation, dispose } = createDemoFederation(trainer, run, test, store);
  hooks.onFederation?.(federation);
  const { adminToken, port } = options.dashboard ?? {};
  const dashboard =
    page &&
    (await serveDashboard(
      { node: trainer, federation },
      {
        page,
        ...(learners.server ? { server: learners.server } : { port: port ?? 8788 }),
        ...(adminToken === undefined ? {} : { adminToken }),
      },
    ));
  if (dashboard) hooks.onDashboard?.(dashboard.url);
  let started = Date.now();
  // FedBuff picks learners as others finish: a version waits for its buffer, not for a selection.
  const waitsFor = (clients: number) => (options.async ? demoSchedule(options).buffer : clients);
  let selected = 0;
  let done = 0;
  federation.events.on('ROUND_STARTED', ({ round, clients }) => {
    selected = waitsFor(clients.length);
    done = 0;
    hooks.onRoundStarted?.(round, selected);
  });
  federation.events.on('CLIENT_RESULT', ({ round, client, ms }) =>
    hooks.onClientResult?.({ round, client, ms, done: ++done, of: selected }),
  );
  federation.events.on('ROUND_FINISHED', (summary) => hooks.onRound?.(summary, Date.now() - started));
  // Ctrl-C interrupts the run to resume it (from the checkpoint): learners are not told it ended, and keep
  // reconnecting.
  const interrupt = { requested: false };
  const stop = () => {
    interrupt.requested = true;
    federation.stop('interrupted', { final: false });
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    // The first round waits for every learner (at its aggregator); later rounds need only minClients.
    const wait = options.mode === 'websocket' || options.mode === 'webrtc' ? 3_600_000 : 60_000;
    if (tree) await Promise.all(tree.homes.map((home) => home.federation.waitForClients(home.count, wait)));
    await federation.waitForClients(run.clients, wait);
    started = Date.now();
    const result = await federation.start();
    // The trainer told its aggregators the run ended; they tell their learners as the notice arrives.
    if (tree && !interrupt.requested) await tree.told(10_000);
    const accuracies = result.history.map((r) => r.evalMetrics.accuracy ?? 0);
    const reached = options.target === undefined ? -1 : accuracies.findIndex((a) => a >= options.target!);
    return {
      ...result,
      targetRound: reached >= 0 ? result.history[reached]!.round : undefined,
      finalAccuracy: accuracies[accuracies.length - 1] ?? 0,
      bestAccuracy: Math.max(0, ...accuracies),
    };
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    // The run is over: what happens to the links from here on is the shutdown, not news.
    for (const { node } of homes)
      node.events.removeAllListeners('CLIENT_REGISTERED').removeAllListeners('CLIENT_DISCONNECTED');
    await dashboard?.close();
    await learners.stop();
    tree?.close();
    trainer.close();
    dispose();
  }
}
