// The trainer page: runs FedAvg on MNIST in this tab, for learner tabs that join it over WebRTC
// data channels (learner.html?transport=webrtc&trainer=<this peer>). From the query string:
//   ?signalling=http://127.0.0.1:9000/&id=trainer&clients=3&rounds=5&seed=1&trainSize=8000&testSize=2000
//    [&epochs=1&batchSize=10|full&lr=0.05&minClients=3&heartbeat=1000][&async&concurrency=3&buffer=1]
import { serveWebRtc } from '@oiafed/browser';
import type { FederationResult } from '@oiafed/core';
import { createDemoFederation, createDemoTrainer } from '../src/demo-federation.js';
import { trainTestSplit } from '../src/mnist.js';
import { log, queryNumber, startPage } from './page-setup.js';

const q = new URLSearchParams(location.search);
const num = (key: string, fallback: number) => queryNumber(q, key, fallback);
const signalling = q.get('signalling') ?? `http://${location.hostname}:9000/`;
const id = q.get('id') ?? 'trainer';
const clients = num('clients', 3);
const rounds = num('rounds', 5);
const seed = num('seed', 1);
const heartbeat = num('heartbeat', 0);

const $ = (name: string) => document.getElementById(name)!;
const state = (text: string) => {
  $('state').textContent = text;
  $('state').dataset.state = text === 'training' ? 'training' : 'registered';
};
$('peer').textContent = id;
$('signalling').textContent = signalling;
$('run').textContent =
  `FedAvg${q.has('async') ? ' (FedBuff)' : ''}, ${rounds} ${q.has('async') ? 'versions' : 'rounds'}, ${clients} learners, seed ${seed}`;

const { test } = trainTestSplit(await startPage(), num('trainSize', 8_000), num('testSize', 2_000), seed);
const options = {
  clients,
  fraction: 1,
  epochs: num('epochs', 1),
  batchSize: q.get('batchSize') === 'full' ? ('full' as const) : num('batchSize', 10),
  rounds,
  lr: num('lr', 0.05),
  seed,
  strategy: 'fedavg' as const,
  mu: 0,
  minClients: num('minClients', clients),
  async: q.has('async'),
  ...(q.has('concurrency') ? { concurrency: num('concurrency', clients) } : {}),
  ...(q.has('buffer') ? { buffer: num('buffer', 1) } : {}),
};
const node = createDemoTrainer(options, { id, ...(heartbeat > 0 ? { heartbeat } : {}) });
const learners = () => ($('learners').textContent = node.registry.connected().join(', ') || 'none yet');
node.events.on('CLIENT_REGISTERED', (c) => (log(`learner ${c.id} joined`), learners()));
node.events.on(
  'CLIENT_DISCONNECTED',
  (c) => (log(`learner ${c.id} disconnected: ${c.reason ?? ''}`), learners()),
);
await serveWebRtc(node, { signalling });
const { federation } = createDemoFederation(node, options, test);
federation.events.on('ROUND_FINISHED', (s) => {
  const row = document.createElement('tr');
  for (const cell of [
    s.round,
    `${s.results}/${s.clients.length}`,
    (s.trainMetrics.loss ?? NaN).toFixed(4),
    (s.evalMetrics.accuracy ?? NaN).toFixed(4),
    (s.timings.totalMs / 1000).toFixed(1),
  ]) {
    row.append(Object.assign(document.createElement('td'), { textContent: String(cell) }));
  }
  $('rounds').append(row);
});
state('waiting');
learners();
const done: Promise<FederationResult> = (async () => {
  await federation.waitForClients(clients, 3_600_000);
  state('training');
  const result = await federation.start();
  state(`done: ${result.reason}`);
  log(`done after ${result.rounds} rounds (${result.reason})`);
  return result;
})();
// For tests and curious people: the trainer's node, its federation and the run's outcome.
Object.assign(globalThis, { oiafedTrainer: { node, federation, done } });
