#!/usr/bin/env node
// oiafed serve <config.yaml>: runs a trainer from a YAML run config, for learners that connect to it.
import { basename, dirname, join } from 'node:path';
import {
  AGGREGATOR_ROLE,
  boundedText,
  createFederation,
  OBSERVER_ROLE,
  OiafedError,
  privacyText,
  type ClientInfo,
  type ClientFailure,
  type Federation,
  type Node,
  type FederationEvents,
  type RoundFailure,
  type RoundSummary,
  type RunConfig,
} from '@oiafed/core';
import { parseOiafedArgs } from './cli-args.js';
import { loadConfig } from './config-file.js';
import { joinParent } from './join-parent.js';
import { failureLine, runCommand } from './run-command.js';
import { dashboardPage, type DashboardPage } from './dashboard-page.js';
import { showFederationProgress } from './federation-progress.js';
import { FileCheckpointStore } from './file-checkpoint-store.js';
import { loadStrategyModule } from './strategy-module.js';
import { serveDashboard, type DashboardServer } from './serve-dashboard.js';
import { serveWebSocket } from './web-socket-server.js';
import { servePeerSignalling, serveWebRtc } from './webrtc.js';

const usage = `usage: oiafed serve <config.yaml>
       oiafed --help

Runs a federation's trainer from a YAML config (see the README's Configuration section): it serves
transport.mode websocket on transport.port, or webrtc (a PeerJS signalling server on
transport.port, or the one at transport.url; the trainer is peer node.id), waits for learners, runs federation.rounds rounds,
prints a line per round, and checkpoints after each one (federation.checkpoint, by default
<config>.checkpoint beside the config). A round that fails is reported and run again (or ends the
run with federation.onRoundFailure: stop). When the run ends, its learners are told, and stop
reconnecting. Ctrl-C stops it cleanly without telling them; the same command again resumes.
With dashboard.enabled it also serves a live dashboard (its URL is printed at start): on the
trainer's port in websocket mode, else on dashboard.port (default 8788).
With node.role aggregator and node.parent it is a level of a hierarchy: it serves its own learners
the same way and joins the parent (each URL of node.parent in turn) as a learner whose rounds it
runs over them; it exits when the parent's run ends (README: Hierarchical federation).`;

const fmt = (metrics: Record<string, number>) =>
  Object.entries(metrics)
    .map(([k, v]) => `${boundedText(k, 64)} ${v.toFixed(4)}`)
    .join('  ');

/** A line names a few of many (learners' texts are bounded already), not a thousand. */
function fewOf<T>(items: readonly T[], name: (item: T) => string): string {
  const named = items.slice(0, 5).map(name);
  if (items.length > named.length) named.push(`${items.length - named.length} more`);
  return named.join(', ');
}

const failedList = (failures: readonly ClientFailure[]) => fewOf(failures, (f) => `${f.client}: ${f.code}`);

type Excluded = FederationEvents['CLIENT_EXCLUDED'][0];
const leftOut = (excluded: readonly Excluded[]) =>
  `left out of selection: ${fewOf(excluded, (e) => `learner ${e.client} for ${e.rounds} rounds (failed ${e.failures} in a row)`)}`;

function progress(s: RoundSummary, rounds: number): string {
  const failed = s.failures.length ? `  ${s.failures.length} failed (${failedList(s.failures)})` : '';
  const train = fmt(s.trainMetrics);
  const evaluation = fmt(s.evalMetrics);
  const privacy = s.privacy ? `  ${privacyText(s.privacy)}` : '';
  return `round ${s.round}/${rounds}  ${s.results}/${s.clients.length} learners${failed}${train ? `  train ${train}` : ''}${evaluation ? `  eval ${evaluation}` : ''}${privacy}  ${(s.timings.totalMs / 1000).toFixed(1)} s`;
}

function roundFailed(f: RoundFailure, rounds: number): string {
  const next =
    f.retryInMs === undefined
      ? 'stopping (federation.onRoundFailure: stop)'
      : `running it again in ${(f.retryInMs / 1000).toFixed(1)} s, or when a learner joins`;
  return `round ${f.round}/${rounds} failed (attempt ${f.attempt}): ${f.reason}; ${next}`;
}

async function serve(file: string, config: RunConfig): Promise<number> {
  if (config.transport.mode !== 'websocket' && config.transport.mode !== 'webrtc') {
    throw new OiafedError(
      'INVALID_CONFIG',
      `transport.mode must be websocket or webrtc for oiafed serve (got ${config.transport.mode}): learners connect to the trainer it runs`,
    );
  }
  const fed = config.federation;
  // An aggregator's rounds are its parent's, and so is its checkpoint.
  const aggregating = config.node.role === AGGREGATOR_ROLE;
  const store = new FileCheckpointStore(
    fed.checkpoint ?? join(dirname(file), `${basename(file)}.checkpoint`),
  );
  const chosen = fed.strategy;
  const strategy =
    'module' in chosen ? await loadStrategyModule(chosen.module, dirname(file), chosen.options) : undefined;
  // A server keeps waiting for learners (a day per wait) until the run ends or Ctrl-C.
  const { node, federation } = createFederation(config, {
    ...(aggregating ? {} : { store }),
    clientWait: 24 * 3_600_000,
    log: (line) => console.log(line),
    ...(strategy ? { strategy } : {}),
  });
  // Learners joining and each round's results as they come: one updating line on a terminal, a
  // few plain lines otherwise. The run's own lines go through it (say), so they do not break into it.
  const live = showFederationProgress(federation, process.stdout);
  const say = (line: string) => live.log(line);
  const host = config.transport.host ?? '127.0.0.1';
  const page = config.dashboard.enabled ? await dashboardPage() : undefined;
  const server =
    config.transport.mode === 'webrtc'
      ? await serveDataChannels(node, config)
      : await serveWebSocket(node, {
          port: config.transport.port ?? 8787,
          host,
          maxPayload: config.transport.maxPayload,
          limits: config.security,
          ...(page ? { http: page.handler } : {}),
        });
  say(
    aggregating
      ? `oiafed: aggregator ${node.id} serving ${server.url}; ${federation.strategy.name}, minClients ${fed.minClients}; parent ${config.node.parent!.join(', then ')}`
      : `oiafed: trainer ${node.id} serving ${server.url}; ${federation.strategy.name}, ${fed.rounds} rounds, minClients ${fed.minClients}`,
  );
  const dashboard = page && (await startDashboard({ node, federation }, config, page, server));
  const saved = aggregating ? undefined : await store.load();
  if (saved) say(`resuming after round ${saved.round} from ${store.path}`);
  node.events.on('CLIENT_REGISTERED', (c) => say(`${who(c)} joined`));
  node.events.on('CLIENT_DISCONNECTED', (c) => say(`${who(c)} ${c.state}: ${boundedText(c.reason ?? '')}`));
  node.events.on('CLIENT_UNREGISTERED', (c) => say(`${who(c)} left`));

  // Exclusions come just before their round's end: one line for all of them, after the round's.
  let excluded: Excluded[] = [];
  const report = (line: string) => {
    say(line);
    if (excluded.length) say(leftOut(excluded));
    excluded = [];
  };
  federation.events.on('CLIENT_EXCLUDED', (e) => excluded.push(e));
  if (aggregating) {
    federation.events.on('ROUND_FINISHED', (s) =>
      report(
        `${progress(s, fed.rounds).replace(/^round (\d+)\/\d+/, 'round $1')}  ${s.numExamples} examples to the parent`,
      ),
    );
    federation.events.on('ROUND_FAILED', (f) =>
      report(`round ${f.round} failed: ${f.reason}; the parent is told`),
    );
  } else {
    federation.events.on('ROUND_FINISHED', (s) => report(progress(s, fed.rounds)));
    federation.events.on('ROUND_FAILED', (f) => report(roundFailed(f, fed.rounds)));
  }
  // Ctrl-C interrupts the run to resume it (from the checkpoint): learners are not told it ended, and keep
  // reconnecting.
  let stop = () => federation.stop('interrupted', { final: false });
  const onSignal = () => stop();
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    if (aggregating) {
      const aggregator = await joinParent({ node, federation }, config);
      // Ctrl-C leaves the parent: its learners are not told, and re-home to a sibling.
      stop = () => aggregator.close();
      say(`joined parent ${aggregator.member.uplink.peer?.id ?? ''}`);
      aggregator.events.on('status', (s) => {
        if (s.state === 'registered' || s.state === 'reconnecting' || s.state === 'disconnected')
          say(`parent: ${s.state}${s.reason ? ` (${boundedText(s.reason)})` : ''}`);
      });
      const notice = await aggregator.finished;
      say(`done: the parent's run ${notice.reason} after ${notice.rounds} rounds`);
      return notice.reason === 'lost' ? 1 : 0;
    }
    const result = await federation.start();
    say(`done: ${result.rounds} of ${fed.rounds} rounds (${result.reason}); checkpoint ${store.path}`);
    return 0;
  } finally {
    live.close();
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    node.events.removeAllListeners();
    await dashboard?.close();
    await server.close();
    node.close();
  }
}

/** A joining client as a line names it: the dashboards that watch are not learners. */
const who = (c: ClientInfo) => `${c.role === OBSERVER_ROLE ? 'observer' : 'learner'} ${boundedText(c.id)}`;

/** The dashboard: on the trainer's WebSocket server, or on one of its own (webrtc mode); its URL said. */
async function startDashboard(
  run: { node: Node; federation: Federation },
  config: RunConfig,
  page: DashboardPage,
  server: { url: string; close(): Promise<void> },
): Promise<DashboardServer> {
  const { adminToken, port, maxObservers } = config.dashboard;
  const dashboard = await serveDashboard(run, {
    page,
    maxObservers,
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(config.transport.mode === 'websocket'
      ? { server }
      : { port: port ?? 8788, host: config.transport.host ?? '127.0.0.1', limits: config.security }),
  });
  console.log(
    `oiafed: dashboard ${dashboard.url}${adminToken === undefined ? ' (watch only: dashboard.adminToken enables pause, resume and stop)' : ' (controls: add #token=<dashboard.adminToken> to the URL, or type it in)'}`,
  );
  return dashboard;
}

/** The trainer's peer, at the signalling server the config names or one started here. */
async function serveDataChannels(
  node: Node,
  config: RunConfig,
): Promise<{ url: string; close(): Promise<void> }> {
  const { url, port, host, iceServers } = config.transport;
  const own =
    url === undefined
      ? await servePeerSignalling({ port: port ?? 9000, host: host ?? '127.0.0.1' })
      : undefined;
  const signalling = url ?? `http://${own!.host}:${own!.port}${own!.path}`;
  const peer = await serveWebRtc(node, { signalling, iceServers, limits: config.security });
  return {
    url: `${signalling} (WebRTC signalling; trainer peer ${node.id})`,
    close: async () => {
      peer.destroy();
      await own?.close();
    },
  };
}

async function main(argv: string[]): Promise<number> {
  const args = parseOiafedArgs(argv);
  if (args.kind === 'help') {
    console.log(usage);
    return 0;
  }
  if (args.kind === 'error') {
    console.error(`oiafed: ${args.message}`);
    return 2;
  }
  const { file } = args;
  let config: RunConfig;
  try {
    config = await loadConfig(file);
  } catch (error) {
    // A config that cannot be read or is invalid is a usage error: one line, exit code 2.
    console.error(failureLine('oiafed', error));
    return 2;
  }
  return serve(file, config);
}

// A run that fails prints one line and exits 1 (OIAFED_DEBUG=1: with its stack).
await runCommand('oiafed', () => main(process.argv.slice(2)));
// node-datachannel's native threads outlive closed connections whose far end (a tab) is still
// open and would keep the process alive: the run is over and reported, so leave.
process.exit();
