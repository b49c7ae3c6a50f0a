// The learner page: trains the 2NN on its share of MNIST with tfjs in this tab, for a trainer it
// joins over WebSocket, or over a WebRTC data channel. Everything comes from the query string:
//   ?server=ws://127.0.0.1:8787&shard=0&of=3&seed=1&trainSize=8000&testSize=2000&split=iid[&id=...][&token=...]
//   ?transport=webrtc&signalling=http://127.0.0.1:9000/&trainer=trainer&shard=0&...
import { joinFederation } from '@oiafed/browser';
import type { MemberStatus, TrainParams } from '@oiafed/core';
import { partition, trainTestSplit } from '../src/mnist.js';
import { MnistLearner } from '../src/mnist-learner.js';
import { log, queryNumber, startPage } from './page-setup.js';

const q = new URLSearchParams(location.search);
const num = (key: string, fallback: number) => queryNumber(q, key, fallback);
const webrtc = q.get('transport') === 'webrtc';
const server = q.get('server') ?? `ws://${location.hostname}:8787`;
const signalling = q.get('signalling') ?? `http://${location.hostname}:9000/`;
const trainer = q.get('trainer') ?? 'trainer';
const shard = num('shard', 0);
const of = num('of', 3);
const seed = num('seed', 1);
const id = q.get('id') ?? `tab-${shard}`;
const heartbeat = num('heartbeat', 0);

const $ = (name: string) => document.getElementById(name)!;
$('id').textContent = id;
$('server').textContent = webrtc ? `peer ${trainer} via ${signalling} (WebRTC)` : server;

const rounds = (n: number) => `${n} round${n === 1 ? '' : 's'}`;

function show(status: MemberStatus): void {
  const el = $('state');
  el.dataset.state = status.state;
  el.textContent =
    status.state === 'finished'
      ? `finished (${status.reason}, ${rounds(status.rounds ?? 0)})`
      : status.state + (status.round ? ` round ${status.round}` : '');
  if (status.round) $('round').textContent = String(status.round);
  log(
    status.state +
      (status.reason ? `: ${status.reason}` : '') +
      (status.delay ? ` (next try in ${Math.round(status.delay)} ms)` : ''),
  );
}

const all = await startPage();
const { train } = trainTestSplit(all, num('trainSize', 8_000), num('testSize', 2_000), seed);
const mine = partition(train, of, q.get('split') === 'noniid' ? 'noniid' : 'iid', seed)[shard]!;
$('data').textContent = `shard ${shard + 1} of ${of}: ${mine.count} digits`;

const learner = new MnistLearner(mine, seed * 100 + shard);
const train0 = learner.train.bind(learner);
learner.train = async (params: TrainParams) => {
  const result = await train0(params);
  $('loss').textContent = (result.metrics?.loss ?? NaN).toFixed(4);
  return result;
};

const member = await joinFederation({
  ...(webrtc ? { signalling, trainer } : { url: server }),
  id,
  learner,
  metadata: { shard, examples: mine.count },
  ...(q.get('token') ? { token: q.get('token')! } : {}),
  ...(heartbeat > 0 ? { heartbeat: { interval: heartbeat, timeout: heartbeat * 3 } } : { heartbeat: false }),
});
show(member.status);
member.events.on('status', show);
// For tests and curious people: the member, from the console.
Object.assign(globalThis, { oiafed: member });
