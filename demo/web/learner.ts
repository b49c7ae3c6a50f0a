// The learner page: trains the 2NN on its share of MNIST with tfjs in this tab, for a trainer it
// joins over WebSocket, or over a WebRTC data channel. Everything comes from the query string:
//   ?server=ws://127.0.0.1:8787&shard=0&of=3&seed=1&trainSize=8000&testSize=2000&split=iid[&id=...][&token=...]
//   ?transport=webrtc&signalling=http://127.0.0.1:9000/&trainer=trainer&shard=0&...
// and &joinTimeout=MS: how long the first join may take (default the SDK's, 30 s).
import { joinFederation } from '@oiafed/browser';
import { ConnectError, type MemberStatus, type TrainParams } from '@oiafed/core';
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
const joinTimeout = q.has('joinTimeout') ? num('joinTimeout', 0) : undefined;

const $ = (name: string) => document.getElementById(name)!;
$('id').textContent = id;
$('server').textContent = webrtc ? `peer ${trainer} via ${signalling} (WebRTC)` : server;

const rounds = (n: number) => `${n} round${n === 1 ? '' : 's'}`;

/** What went wrong, as the cause row says it: the cause's kind (refused, http 403, ...) and the message. */
function causeOf(error: Error): string {
  if (!(error instanceof ConnectError)) return error.message;
  const kind = error.failure === 'http' ? `http ${error.status}` : error.failure;
  const tries =
    error.attempts === undefined ? '' : `, ${error.attempts} attempt${error.attempts === 1 ? '' : 's'}`;
  return `${kind}${error.timedOut ? ', out of time' : ''}${tries}: ${error.message}`;
}

function show(status: MemberStatus): void {
  const el = $('state');
  el.dataset.state = status.state;
  el.textContent =
    status.state === 'finished'
      ? `finished (${status.reason}, ${rounds(status.rounds ?? 0)})`
      : status.state + (status.round ? ` round ${status.round}` : '');
  if (status.round) $('round').textContent = String(status.round);
  // The cause row: why the last attempt failed while connecting, or why the join gave up.
  const cause = $('cause');
  if (status.error) {
    cause.textContent = causeOf(status.error);
    cause.dataset.failure = status.error instanceof ConnectError ? status.error.failure : 'other';
  } else if (status.state === 'registered') {
    cause.textContent = '-';
    delete cause.dataset.failure;
  }
  log(
    status.state +
      (status.reason ? `: ${status.reason}` : '') +
      (status.delay ? ` (next try in ${Math.round(status.delay)} ms)` : ''),
  );
  // For tests and curious people: the latest status, and an event per status.
  Object.assign(globalThis, { oiafedStatus: status });
  dispatchEvent(new CustomEvent('oiafed:status', { detail: status }));
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

// For tests: when the join began (its joinTimeout runs from here).
Object.assign(globalThis, { oiafedJoinStarted: performance.now() });
try {
  const member = await joinFederation({
    ...(webrtc ? { signalling, trainer } : { url: server }),
    id,
    learner,
    metadata: { shard, examples: mine.count },
    ...(q.get('token') ? { token: q.get('token')! } : {}),
    ...(heartbeat > 0
      ? { heartbeat: { interval: heartbeat, timeout: heartbeat * 3 } }
      : { heartbeat: false }),
    ...(joinTimeout === undefined ? {} : { joinTimeout }),
    // From the first attempt: the page says 'connecting' (and why an attempt failed) before it has joined.
    onStatus: show,
  });
  // For tests and curious people: the member, from the console.
  Object.assign(globalThis, { oiafed: member });
} catch {
  // The join gave up: its 'failed' status, with the cause, is on the page already.
}
