import { writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  boundedText,
  CODEC_NAMES,
  DEFAULT_TOPK_FRACTION,
  DEFAULT_TOPK_WARMUP_FRACTION,
  DEFAULT_TOPK_WARMUP_ROUNDS,
  DOWN_CODECS,
  privacyText,
  STRATEGY_NAMES,
  type CodecOptions,
} from '@oiafed/core';
import { runCommand, showFederationProgress, type FederationProgress } from '@oiafed/node';
import { parseDemoArgs } from './demo-args.js';
import { servePage } from './page-server.js';
import { serveTrainerTab } from './trainer-tab.js';
import { DEFAULT_DEMO, runDemo, type DemoOptions } from './simulate.js';
import { demoSchedule } from './demo-federation.js';
import { SLOWDOWN, slowLearners } from './demo-learner.js';
import { aggregatorsProblem } from './aggregators.js';

const usage = `oiafed demo: federated training on MNIST digits, every node in this process.

  npm run demo -- [options]

  --clients N          learners (default ${DEFAULT_DEMO.clients})
  --fraction F         share of learners selected per round, (0, 1] (default ${DEFAULT_DEMO.fraction})
  --epochs E           local epochs per round (default ${DEFAULT_DEMO.epochs})
  --batch-size B|full  local batch size; 'full' with --epochs 1 is FedSGD (default ${DEFAULT_DEMO.batchSize})
  --rounds R           rounds (default ${DEFAULT_DEMO.rounds})
  --lr X               learning rate of local SGD (default ${DEFAULT_DEMO.lr})
  --iid | --noniid     how the digits are split over learners (default iid)
  --seed S             seeds the data split, models and selection (default ${DEFAULT_DEMO.seed})
  --strategy NAME      ${STRATEGY_NAMES.join(' | ')} (default fedavg); --mu X for FedProx (default ${DEFAULT_DEMO.mu})
  --async              FedBuff (buffered asynchronous aggregation) instead of rounds: --concurrency K
                       learners train at all times (default: --fraction of --clients, so all), every
                       --buffer B results make a model version (default K/2); --rounds counts versions
  --slow F             a share F in [0, 1) of the learners (chosen from --seed) is ${SLOWDOWN}x slower
  --mode MODE          memory (default: every node in this process) | worker (learners in
                       worker_threads, a pool of one thread per core; --workers N to choose) |
                       websocket (the trainer serves WebSocket on --port and waits for --clients
                       learners: tabs of the learner page, or --node-learners in this process) |
                       webrtc (the same over WebRTC data channels: starts a PeerJS signalling
                       server on --port, or uses --signalling URL; the trainer is peer 'trainer')
  --aggregators K      put the learners under K aggregators in this process (a two-level
                       hierarchy): each trains a block of them in --mode (websocket: a server each,
                       on --port + k; webrtc: peer aggregator-k) and is a learner of the trainer;
                       synchronous rounds, without --secure, --dp-* and --codec
  --port N, --token T  websocket: where to listen (default 8787); webrtc: the signalling server's
                       port (default 9000); a token learners must give
  --signalling URL     webrtc: a running PeerJS signalling server, e.g. http://10.0.0.2:9000/
  --page               websocket, webrtc: also serve the learner page (Vite), print a link per learner
  --trainer-tab        webrtc: the trainer runs in a browser tab too: start the signalling server
                       and the pages, print a link for the trainer tab and each learner tab
  --node-learners      websocket, webrtc: start the learners in this process, over the network
  --dashboard          serve the live dashboard (chart per round, learners, pause/resume/stop): on
                       the trainer's port in websocket mode, else on --dashboard-port (default 8788);
                       --admin-token T enables its controls (open the URL printed, add #token=T)
  --secure             secure aggregation (SecAgg+): the trainer learns only the sum of each round's
                       updates (clipped to [-1, 1], quantised to 32 bits, weighted by example count)
  --min-clients N      learners a round waits for, and fewer results than this fail it (default:
                       --fraction of --clients, at least 1)
  --checkpoint FILE    checkpoint every round; restarting with the same file resumes from it
  --heartbeat MS       ping links every MS ms, declare them dead after 3 x MS
  --fedsgd             FedSGD: one full-batch step per round (sets --epochs 1 --batch-size full --lr 0.5)
  --target ACC         stop at the first round whose test accuracy reaches ACC, and report it
  --dp-noise Z         differential privacy (DP-FedAvg): noise multiplier Z; needs --dp-clip C,
  --dp-clip C          the L2 norm each update is clipped to; --dp-delta D (default 1e-5) is the delta
                       epsilon is reported at, --dp-budget E stops the run before epsilon passes E
  --dp-mode MODE       central (default: the trainer clips and adds the noise) | distributed (each
                       learner clips its update and adds its share of the noise; needed with --secure)
  --codec NAME         compressed updates: learners send their updates as deltas in ${CODEC_NAMES.join(' | ')}
                       (topk keeps --topk-fraction F of each tensor, default 0.01, with error feedback,
                       falling to F from --topk-warmup-from W, default 0.1, over --topk-warmup R
                       rounds, default 3; --topk-warmup 0 sends F from round 1)
  --codec-down NAME    the model sent down to learners in ${DOWN_CODECS.join(' | ')}
  --json FILE          write per-round metrics to FILE
  --config FILE        YAML with the same keys (clients, fraction, epochs, batchSize, rounds, lr,
                       split, seed, strategy, mu, async, concurrency, buffer, slow, mode, target,
                       trainSize, testSize, backend, dpNoise, dpClip, dpDelta, dpBudget, dpMode,
                       codec, codecDown, topkFraction, topkWarmup, topkWarmupFrom)
  --train-size N, --test-size N, --backend wasm|cpu
`;

/** A usage error: one line saying why, the usage, and exit code 2. */
function fail(message: string): never {
  console.error(`demo: ${message}\n\n${usage}`);
  process.exit(2);
}

/** What `read` gives, or the usage with what it threw (an unknown flag, a config file that does not parse). */
function orUsage<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    return fail(boundedText(error instanceof Error ? error.message : error, 400));
  }
}

const parsed = parseDemoArgs(process.argv.slice(2));
if ('error' in parsed) {
  console.error(`demo: ${parsed.error}`);
  process.exit(2);
}
const { values } = parsed;

if (values.help) {
  console.log(usage);
  process.exit(0);
}

const fromFile: Record<string, unknown> = values.config
  ? orUsage(() => (parse(readFileSync(values.config!, 'utf8')) as Record<string, unknown> | null) ?? {})
  : {};
const known = new Set([
  ...Object.keys(DEFAULT_DEMO),
  'target',
  'json',
  'workers',
  'aggregators',
  'port',
  'signalling',
  'token',
  'nodeLearners',
  'minClients',
  'checkpoint',
  'heartbeat',
  'page',
  'concurrency',
  'buffer',
  'dashboard',
  'dashboardPort',
  'adminToken',
  'secure',
  'dpNoise',
  'dpClip',
  'dpDelta',
  'dpBudget',
  'dpMode',
  'codec',
  'codecDown',
  'topkFraction',
  'topkWarmup',
  'topkWarmupFrom',
]);
for (const key of Object.keys(fromFile)) if (!known.has(key)) fail(`${values.config}: unknown key ${key}`);

const pick = (flag: string | undefined, key: keyof DemoOptions | 'json'): unknown => flag ?? fromFile[key];
const number = (
  value: unknown,
  name: string,
  check: (n: number) => boolean,
  expected: string,
): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !check(n)) fail(`${name} must be ${expected} (got ${JSON.stringify(value)})`);
  return n;
};
const int = (n: number) => Number.isInteger(n) && n >= 1;
/** A setting given as text (a number in the config file counts as its digits). */
const text = (value: unknown, name: string): string =>
  typeof value === 'string' || typeof value === 'number'
    ? String(value)
    : fail(`${name} must be text (got ${JSON.stringify(value)})`);

const options: DemoOptions = { ...DEFAULT_DEMO };
const set = <K extends keyof DemoOptions>(key: K, value: DemoOptions[K] | undefined) =>
  value !== undefined && (options[key] = value);
set('clients', number(pick(values.clients, 'clients'), 'clients', int, 'a positive integer'));
set(
  'fraction',
  number(pick(values.fraction, 'fraction'), 'fraction', (n) => n > 0 && n <= 1, 'in (0, 1]'),
);
set('epochs', number(pick(values.epochs, 'epochs'), 'epochs', int, 'a positive integer'));
set('rounds', number(pick(values.rounds, 'rounds'), 'rounds', int, 'a positive integer'));
set(
  'lr',
  number(pick(values.lr, 'lr'), 'lr', (n) => n > 0, 'a positive number'),
);
set(
  'seed',
  number(pick(values.seed, 'seed'), 'seed', (n) => Number.isInteger(n) && n >= 0, 'an integer >= 0'),
);
set(
  'mu',
  number(pick(values.mu, 'mu'), 'mu', (n) => n >= 0, 'a number >= 0'),
);
set(
  'target',
  number(pick(values.target, 'target'), 'target', (n) => n > 0 && n <= 1, 'an accuracy in (0, 1]'),
);
set('trainSize', number(pick(values['train-size'], 'trainSize'), 'train-size', int, 'a positive integer'));
set('testSize', number(pick(values['test-size'], 'testSize'), 'test-size', int, 'a positive integer'));
set(
  'slow',
  number(pick(values.slow, 'slow'), 'slow', (n) => n >= 0 && n < 1, 'a share in [0, 1)'),
);
if (values.async || fromFile.async === true) options.async = true;
// An update's values beyond [-1, 1] are clipped (the 2NN's round updates are far smaller); no
// learner holds more than the whole training set, which bounds the weights' sum.
if (values.secure || fromFile.secure === true)
  options.secure = { clipRange: 1, maxExamples: options.trainSize };
if (options.secure && options.async) fail('--secure needs synchronous rounds (not --async)');
set(
  'concurrency',
  number(
    pick(values.concurrency, 'concurrency'),
    'concurrency',
    (n) => int(n) && n <= options.clients,
    `an integer from 1 to --clients (${options.clients})`,
  ),
);
const { concurrency } = demoSchedule(options);
set(
  'buffer',
  number(
    pick(values.buffer, 'buffer'),
    'buffer',
    (n) => int(n) && n <= concurrency,
    `an integer from 1 to --concurrency (${concurrency})`,
  ),
);
if (!options.async && (options.concurrency !== undefined || options.buffer !== undefined))
  fail('--concurrency and --buffer need --async');
const batch = pick(values['batch-size'], 'batchSize');
if (batch !== undefined)
  options.batchSize =
    batch === 'full' ? 'full' : number(batch, 'batch-size', int, "a positive integer or 'full'")!;
/** `value` if it is one of `words`, else the usage with why. */
const oneOf = <T extends string>(value: unknown, words: readonly T[], name: string): T =>
  words.find((word) => word === value) ??
  fail(`${name} must be one of ${words.join(', ')} (got ${JSON.stringify(value)})`);
const split = values.noniid ? 'noniid' : values.iid ? 'iid' : fromFile.split;
if (split !== undefined) options.split = oneOf(split, ['iid', 'noniid'] as const, 'split');
const strategy = pick(values.strategy, 'strategy');
if (strategy !== undefined) options.strategy = oneOf(strategy, STRATEGY_NAMES, 'strategy');
const mode = pick(values.mode, 'mode');
if (mode !== undefined)
  options.mode = oneOf(mode, ['memory', 'worker', 'websocket', 'webrtc'] as const, 'mode');
set(
  'port',
  number(
    pick(values.port, 'port'),
    'port',
    (n) => Number.isInteger(n) && n >= 0 && n < 65_536,
    'a port number',
  ),
);
set(
  'minClients',
  number(
    pick(values['min-clients'], 'minClients'),
    'min-clients',
    (n) => int(n) && n <= options.clients,
    `an integer from 1 to --clients (${options.clients})`,
  ),
);
set('heartbeat', number(pick(values.heartbeat, 'heartbeat'), 'heartbeat', int, 'a positive integer (ms)'));
const signalling = pick(values.signalling, 'signalling');
if (signalling !== undefined) options.signalling = text(signalling, 'signalling');
const token = pick(values.token, 'token');
if (token !== undefined) options.token = text(token, 'token');
const checkpoint = pick(values.checkpoint, 'checkpoint');
if (checkpoint !== undefined) options.checkpoint = text(checkpoint, 'checkpoint');
if (values['node-learners'] || fromFile.nodeLearners === true) options.nodeLearners = true;
set('workers', number(pick(values.workers, 'workers'), 'workers', int, 'a positive integer'));
set('aggregators', number(pick(values.aggregators, 'aggregators'), 'aggregators', int, 'a positive integer'));
if (values.dashboard || fromFile.dashboard === true) {
  const port = number(
    values['dashboard-port'] ?? fromFile.dashboardPort,
    'dashboard-port',
    (n) => Number.isInteger(n) && n >= 0 && n < 65_536,
    'a port number',
  );
  const adminToken = values['admin-token'] ?? fromFile.adminToken;
  options.dashboard = {
    ...(port === undefined ? {} : { port }),
    ...(adminToken === undefined ? {} : { adminToken: text(adminToken, 'admin-token') }),
  };
}
const dp = (
  flag: 'dp-noise' | 'dp-clip' | 'dp-delta' | 'dp-budget',
  key: string,
  check: (n: number) => boolean,
  expected: string,
) => number(values[flag] ?? fromFile[key], `--${flag}`, check, expected);
const dpNoise = dp('dp-noise', 'dpNoise', (n) => n > 0, 'a number > 0');
const dpClip = dp('dp-clip', 'dpClip', (n) => n > 0, 'a number > 0');
const dpDelta = dp('dp-delta', 'dpDelta', (n) => n > 0 && n < 1, 'in (0, 1)');
const dpBudget = dp('dp-budget', 'dpBudget', (n) => n > 0, 'an epsilon > 0');
if ((dpNoise === undefined) !== (dpClip === undefined)) fail('--dp-noise and --dp-clip go together');
const dpModeValue = values['dp-mode'] ?? fromFile.dpMode;
const dpMode =
  dpModeValue === undefined ? undefined : oneOf(dpModeValue, ['central', 'distributed'] as const, 'dp-mode');
if (dpNoise === undefined && (dpDelta !== undefined || dpBudget !== undefined || dpMode !== undefined))
  fail('--dp-delta, --dp-budget and --dp-mode need --dp-noise and --dp-clip');
if (dpNoise !== undefined && dpClip !== undefined)
  options.privacy = {
    noiseMultiplier: dpNoise,
    clip: dpClip,
    ...(dpDelta === undefined ? {} : { delta: dpDelta }),
    ...(dpBudget === undefined ? {} : { budget: dpBudget }),
    ...(dpMode === undefined ? {} : { mode: dpMode }),
  };
// The trainer cannot clip updates it only ever sees summed.
if (options.secure && options.privacy && options.privacy.mode !== 'distributed')
  fail('--secure with differential privacy needs --dp-mode distributed (the trainer sees only the sum)');
const codec = values.codec ?? fromFile.codec;
const codecDown = values['codec-down'] ?? fromFile.codecDown;
const topkFraction = number(
  values['topk-fraction'] ?? fromFile.topkFraction,
  '--topk-fraction',
  (n) => n > 0 && n <= 1,
  'in (0, 1]',
);
const topkWarmup = number(
  values['topk-warmup'] ?? fromFile.topkWarmup,
  '--topk-warmup',
  (n) => Number.isInteger(n) && n >= 0,
  'a whole number of rounds, 0 or more',
);
const topkWarmupFrom = number(
  values['topk-warmup-from'] ?? fromFile.topkWarmupFrom,
  '--topk-warmup-from',
  (n) => n > 0 && n <= 1,
  'in (0, 1]',
);
if (codec !== 'topk')
  for (const [flag, value] of Object.entries({ topkFraction, topkWarmup, topkWarmupFrom }))
    if (value !== undefined)
      fail(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --codec topk`);
if (codec !== undefined || codecDown !== undefined) {
  if (options.secure)
    fail('--codec and --codec-down cannot run with --secure (see the README, Compressed updates)');
  options.codecs = {
    ...(codec === undefined ? {} : { up: oneOf(codec, CODEC_NAMES, 'codec') }),
    ...(codecDown === undefined ? {} : { down: oneOf(codecDown, DOWN_CODECS, 'codec-down') }),
    ...(topkFraction === undefined ? {} : { fraction: topkFraction }),
    ...(topkWarmup === undefined ? {} : { warmupRounds: topkWarmup }),
    ...(topkWarmupFrom === undefined ? {} : { warmupFraction: topkWarmupFrom }),
  };
}
const backend = pick(values.backend, 'backend');
if (backend !== undefined) options.backend = oneOf(backend, ['wasm', 'cpu'] as const, 'backend');
if (values.fedsgd) Object.assign(options, { epochs: 1, batchSize: 'full', lr: values.lr ? options.lr : 0.5 });
const jsonPath = pick(values.json, 'json') as string | undefined;
/** The run: its exit code; a failure is one line on stderr and exit code 1 (runCommand). */
async function run(): Promise<number> {
  const underAggregators = aggregatorsProblem(options);
  if (underAggregators !== undefined) fail(underAggregators);
  if (values['trainer-tab']) {
    if (options.mode !== 'webrtc') fail('--trainer-tab needs --mode webrtc');
    if (options.aggregators) fail('--trainer-tab runs without --aggregators');
    // The trainer tab's page takes the run's plain settings only: refuse rather than run without them.
    if (options.secure || options.privacy)
      fail(
        '--trainer-tab runs without --secure and --dp-*: use a Node trainer (--mode webrtc alone) for those',
      );
    await serveTrainerTab(options);
    return 0;
  }

  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const schedule = options.async ? demoSchedule(options) : undefined;
  // Under FedBuff a "round" is a model version.
  const round = schedule ? 'version' : 'round';
  const slow = [...slowLearners(options.clients, options.slow, options.seed)].sort((a, b) => a - b);
  console.log(
    `oiafed demo: ${options.strategy} on MNIST, ${options.clients} learners (${options.split}), ${options.rounds} ${round}s` +
      (schedule
        ? ` of FedBuff (${schedule.concurrency} training at once, ${schedule.buffer} results per version)`
        : '') +
      (options.secure ? ', secure aggregation' : '') +
      (options.codecs
        ? `, updates up in ${options.codecs.up ?? 'float32'}${options.codecs.up === 'topk' ? ` (${topKText(options.codecs)})` : ''}, model down in ${options.codecs.down ?? 'float32'}`
        : '') +
      `, E=${options.epochs} B=${options.batchSize} lr=${options.lr}, mode ${options.mode}${options.aggregators ? ` under ${options.aggregators} aggregators` : ''}, ${options.trainSize} train / ${options.testSize} test digits` +
      (slow.length ? `; ${SLOWDOWN}x slower: ${slow.map((i) => `learner-${i}`).join(', ')}` : '') +
      (options.privacy
        ? `; differential privacy${options.privacy.mode === 'distributed' ? ' (distributed)' : ''}: noise multiplier ${options.privacy.noiseMultiplier}, clip ${options.privacy.clip}` +
          (options.privacy.budget === undefined ? '' : `, epsilon budget ${options.privacy.budget}`)
        : ''),
  );
  let pageServer: Promise<string> | undefined;
  /** Says where the trainer listens and, with --page, the learner pages to open (their server starts meanwhile). */
  async function announce(
    address: string,
    join: Record<string, string>,
    home: { id: string; first: number; count: number },
  ): Promise<void> {
    const how = options.mode === 'webrtc' ? ` (WebRTC signalling; trainer peer ${join.trainer})` : '';
    const which = options.aggregators ? ` (learners ${home.first} to ${home.first + home.count - 1})` : '';
    console.log(`${home.id} listening on ${address}${how}; waiting for ${home.count} learners${which}`);
    if (values.page || fromFile.page === true) {
      // One page server for every home (the trainer, or each aggregator).
      const page = await (pageServer ??= servePage());
      for (let shard = home.first; shard < home.first + home.count; shard++) {
        const query = new URLSearchParams({
          ...join,
          shard: String(shard),
          of: String(options.clients),
          seed: String(options.seed),
          trainSize: String(options.trainSize),
          testSize: String(options.testSize),
          split: options.split,
          ...(options.token ? { token: options.token } : {}),
        });
        console.log(`  learner ${shard}: ${page}/learner.html?${query}`);
      }
    }
  }

  // Learners joining and each round's results: one updating line on a terminal, a few plain lines
  // otherwise; the demo's own lines go through it (say), so they do not break into it.
  let progress: FederationProgress | undefined;
  const say = (line: string) => (progress ? progress.log(line) : console.log(line));
  const result = await runDemo(options, {
    onFederation: (federation) => (progress = showFederationProgress(federation, process.stdout, { round })),
    onResume: (round) => say(`resuming from the checkpoint of round ${round}`),
    onLearner: (id, event, reason) =>
      (options.mode === 'websocket' || options.mode === 'webrtc') &&
      say(`learner ${id} ${event}${reason ? `: ${reason}` : ''}`),
    onListening: (address, join, home) => void announce(address, join, home),
    onDashboard: (url) =>
      say(
        `dashboard: ${url}${options.dashboard?.adminToken === undefined ? ' (watch only: --admin-token enables its controls)' : ' (add #token=<admin token> for its controls)'}`,
      ),
    onRound: (s, elapsed) => {
      const failed = s.failures.length ? `  ${s.failures.length} failed` : '';
      const stale = s.stale ? `  ${s.stale} stale` : '';
      const privacy = s.privacy ? `  ${privacyText(s.privacy)}` : '';
      say(
        `${round} ${String(s.round).padStart(2)}/${options.rounds}  ${s.results}/${s.clients.length} clients${failed}${stale}  ` +
          `train loss ${(s.trainMetrics.loss ?? NaN).toFixed(4)}  test acc ${(s.evalMetrics.accuracy ?? NaN).toFixed(4)}  ` +
          `test loss ${(s.evalMetrics.loss ?? NaN).toFixed(4)}${privacy}  ${round} ${seconds(s.timings.totalMs)}  elapsed ${seconds(elapsed)}`,
      );
    },
  }).finally(() => progress?.close());
  console.log(
    `done: ${result.rounds} ${round}s in ${seconds(result.elapsedMs)} (${result.reason}); final test accuracy ${result.finalAccuracy.toFixed(4)}, best ${result.bestAccuracy.toFixed(4)}` +
      (options.target === undefined
        ? ''
        : result.targetRound
          ? `; reached ${options.target} at ${round} ${result.targetRound}`
          : `; never reached ${options.target}`),
  );
  if (jsonPath) {
    await writeFile(
      jsonPath,
      JSON.stringify(
        {
          options,
          reason: result.reason,
          targetRound: result.targetRound,
          elapsedMs: result.elapsedMs,
          rounds: result.history,
        },
        null,
        2,
      ) + '\n',
    );
    console.log(`per-round metrics written to ${jsonPath}`);
  }
  return 0;
}

await runCommand('demo', run);
// node-datachannel's native threads outlive closed connections whose far end (a tab) is still
// open, and would keep the process alive: the run is over and reported, so leave.
if (options.mode === 'webrtc') process.exit();

/** Top-k's fraction and its warm-up, as the startup line says them. */
function topKText(codecs: CodecOptions): string {
  const fraction = codecs.fraction ?? DEFAULT_TOPK_FRACTION;
  const rounds = codecs.warmupRounds ?? DEFAULT_TOPK_WARMUP_ROUNDS;
  const from = codecs.warmupFraction ?? DEFAULT_TOPK_WARMUP_FRACTION;
  return rounds > 0 && from > fraction ? `${fraction}, from ${from} over ${rounds} rounds` : String(fraction);
}
