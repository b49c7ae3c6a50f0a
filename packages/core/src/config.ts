import { OiafedError } from './wire/errors.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD, type ServerLimits } from './links/limits.js';
import { STRATEGY_NAMES, type StrategyName } from './fl/strategies/by-name.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from './membership/heartbeat.js';
import { isNodeId } from './wire/node-id.js';
import type { IceServer } from './links/peer.js';
import { DEFAULT_CONNECT_TIMEOUT } from './links/connect-timeout.js';
import { DEFAULT_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
import { DEFAULT_EXCLUDE } from './fl/exclusion.js';
import { DEFAULT_RECENT_DEPARTED } from './membership/registry.js';
import { DEFAULT_MAX_EXAMPLES } from './fl/result-validation.js';

export type TransportMode = 'memory' | 'worker' | 'websocket' | 'webrtc';
export type InterceptorName = 'logging' | 'compression';

/** One typed object for a whole run. In Node the same shape loads from YAML (`oiafed serve run.yaml`). */
export interface RunConfig {
  /** The trainer's node: its id and its role (what learners and relay rules see). */
  node: { id: string; role: string };
  transport: {
    mode: TransportMode;
    /** Where learners connect (websocket); webrtc: a PeerJS signalling server to use instead of serving one. */
    url?: string;
    host?: string;
    port?: number;
    /** Shared token a learner must present to join. */
    token?: string;
    /** Largest frame accepted, bytes. */
    maxPayload: number;
    interceptors: InterceptorName[];
    /** webrtc: STUN/TURN servers every peer gets (default none: no public servers). */
    iceServers: IceServer[];
  };
  timeouts: { connect: number; request: number };
  heartbeat: HeartbeatOptions | false;
  federation: {
    rounds: number;
    /** Learners a round waits for. */
    minClients: number;
    /** Results a round needs (and at least how many it selects); at most minClients. Default minClients. */
    minResults: number;
    /** Fraction of connected learners selected per round, in (0, 1]. */
    fraction: number;
    /** Asks this many times the selected learners and closes the round at the selected count (>= 1). */
    overSelection: number;
    /** ms a round may take (0: none). */
    deadline: number;
    seed: number;
    federatedEvaluation: boolean;
    /**
     * The algorithm: a built-in by name, or a module of the user's (a path, relative to the
     * config file) whose default export makes a Strategy from the options (a class or a function).
     */
    strategy:
      | { name: StrategyName; options: Record<string, unknown> }
      | { module: string; options: Record<string, unknown> };
    /** Synchronous rounds, or FedBuff (buffered asynchronous aggregation). */
    schedule:
      { name: 'sync' } | { name: 'fedbuff'; concurrency: number; buffer: number; maxStaleness: number };
    /** Hyper-parameters the learners receive (epochs, batchSize, lr...). */
    train: Record<string, unknown>;
    /** Where checkpoints go (Node: a file path). */
    checkpoint?: string;
    /**
     * A round that fails (too few results): 'retry' runs it again (waiting for learners as needed),
     * so a server keeps going until completion or Ctrl-C; 'stop' ends the run with the error.
     * Default 'retry', where a Federation built in code defaults to 'stop': a run from a config is
     * a server's, a Federation in a program is a call that should end.
     */
    onRoundFailure: 'retry' | 'stop';
  };
  /** What a server grants peers it does not trust (learners are whoever opened the page). */
  security: SecurityConfig;
}

/** Budgets in bytes, counts and ms (see ServerLimits), and what the trainer grants learners beyond them. */
export interface SecurityConfig extends ServerLimits {
  /**
   * Per-learner credentials, id to secret: a learner must present its own as its token, and may then take
   * over its id.
   */
  credentials?: Record<string, string>;
  /** Which learners may reach other learners through the trainer: none (a star), or those of their own role. */
  relay: 'none' | 'same-role';
  /** Largest `numExamples` a learner's result may claim. */
  maxExamples: number;
  /** A learner whose results fail this many rounds in a row is left out of selection ... */
  excludeAfter: number;
  /** ... for this many rounds. */
  excludeRounds: number;
  /**
   * Learners that left which the trainer still remembers (to recognise one that comes back); older departures
   * are forgotten.
   */
  recentDeparted: number;
}

/** Every field optional, nested: what a user writes. */
export type RunConfigInput = {
  [K in keyof RunConfig]?: RunConfig[K] extends object ? Partial<RunConfig[K]> : RunConfig[K];
};

export const DEFAULT_RUN_CONFIG: RunConfig = {
  node: { id: 'trainer', role: 'trainer' },
  transport: { mode: 'memory', maxPayload: DEFAULT_MAX_PAYLOAD, interceptors: [], iceServers: [] },
  timeouts: { connect: DEFAULT_CONNECT_TIMEOUT, request: DEFAULT_REQUEST_TIMEOUT },
  heartbeat: DEFAULT_HEARTBEAT,
  federation: {
    rounds: 10,
    minClients: 1,
    minResults: 1,
    fraction: 1,
    overSelection: 1,
    deadline: 0,
    seed: 0,
    federatedEvaluation: false,
    strategy: { name: 'fedavg', options: {} },
    schedule: { name: 'sync' },
    train: {},
    onRoundFailure: 'retry',
  },
  security: {
    relay: 'none',
    ...DEFAULT_LIMITS,
    maxExamples: DEFAULT_MAX_EXAMPLES,
    excludeAfter: DEFAULT_EXCLUDE.after,
    excludeRounds: DEFAULT_EXCLUDE.rounds,
    recentDeparted: DEFAULT_RECENT_DEPARTED,
  },
};

const SECTIONS = Object.keys(DEFAULT_RUN_CONFIG) as (keyof RunConfig)[];

/** Fills defaults and checks every field; an invalid one fails with INVALID_CONFIG naming it. */
export function resolveConfig(input: unknown): RunConfig {
  const raw = record(input, 'config');
  // `retry` was validated and read by nothing: a trainer's calls are not retried (a train call is
  // not safe to repeat blindly), and the learners' reconnect policy is theirs (joinFederation's retry).
  if (raw.retry !== undefined) {
    throw new OiafedError(
      'INVALID_CONFIG',
      "retry is not a setting of a run: the trainer retries no call; learners set their reconnect policy where they join (joinFederation's retry)",
    );
  }
  unknownKeys(raw, SECTIONS, 'config');
  const d = DEFAULT_RUN_CONFIG;
  const section = (key: keyof RunConfig): Record<string, unknown> =>
    raw[key] === undefined ? {} : record(raw[key], key);

  const node = section('node');
  unknownKeys(node, ['id', 'role'], 'node');
  const transport = section('transport');
  unknownKeys(
    transport,
    ['mode', 'url', 'host', 'port', 'token', 'maxPayload', 'interceptors', 'iceServers'],
    'transport',
  );
  const timeouts = section('timeouts');
  unknownKeys(timeouts, ['connect', 'request'], 'timeouts');
  const fed = section('federation');
  unknownKeys(fed, [...Object.keys(d.federation), 'checkpoint'], 'federation');
  const security = section('security');
  unknownKeys(security, [...Object.keys(d.security), 'credentials'], 'security');
  const ds = d.security;
  const bytes = (key: keyof SecurityConfig) => integer(security[key] ?? ds[key], `security.${key}`, 1);

  const id = str(node.id ?? d.node.id, 'node.id');
  if (!isNodeId(id)) fail('node.id', 'an id of 1-128 of A-Z a-z 0-9 . _ : @ -', id);

  let heartbeat: RunConfig['heartbeat'] = d.heartbeat;
  if (raw.heartbeat === false) heartbeat = false;
  else if (raw.heartbeat !== undefined) {
    const hb = record(raw.heartbeat, 'heartbeat');
    unknownKeys(hb, ['interval', 'timeout'], 'heartbeat');
    heartbeat = {
      interval: positive(hb.interval ?? DEFAULT_HEARTBEAT.interval, 'heartbeat.interval'),
      timeout: positive(hb.timeout ?? DEFAULT_HEARTBEAT.timeout, 'heartbeat.timeout'),
    };
    if (heartbeat.timeout <= heartbeat.interval)
      fail('heartbeat.timeout', `greater than heartbeat.interval (${heartbeat.interval})`, heartbeat.timeout);
  }

  const strategy: Record<string, unknown> =
    fed.strategy === undefined ? d.federation.strategy : record(fed.strategy, 'federation.strategy');
  unknownKeys(strategy, ['name', 'module', 'options'], 'federation.strategy');
  if (strategy.name !== undefined && strategy.module !== undefined)
    fail('federation.strategy', 'a name or a module, not both', strategy);
  const strategyOptions =
    strategy.options === undefined ? {} : record(strategy.options, 'federation.strategy.options');
  const chosenStrategy: RunConfig['federation']['strategy'] =
    strategy.module === undefined
      ? {
          name: oneOf(strategy.name ?? 'fedavg', STRATEGY_NAMES, 'federation.strategy.name'),
          options: strategyOptions,
        }
      : { module: str(strategy.module, 'federation.strategy.module'), options: strategyOptions };
  const minClients = integer(fed.minClients ?? d.federation.minClients, 'federation.minClients', 1);
  const minResults = integer(fed.minResults ?? minClients, 'federation.minResults', 1);
  if (minResults > minClients)
    fail(
      'federation.minResults',
      `at most federation.minClients (${minClients}): a round may start with only that many learners`,
      minResults,
    );
  const schedule =
    fed.schedule === undefined
      ? d.federation.schedule
      : scheduleOf(record(fed.schedule, 'federation.schedule'));
  const overSelection = num(fed.overSelection ?? 1, 'federation.overSelection');
  if (!(overSelection >= 1) || !Number.isFinite(overSelection))
    fail('federation.overSelection', 'a number >= 1', overSelection);
  const port =
    transport.port === undefined ? undefined : integer(transport.port, 'transport.port', 0, 65_535);
  const fraction = num(fed.fraction ?? 1, 'federation.fraction');
  if (!(fraction > 0 && fraction <= 1)) fail('federation.fraction', 'in (0, 1]', fraction);

  const config: RunConfig = {
    node: { id, role: str(node.role ?? d.node.role, 'node.role') },
    transport: {
      mode: oneOf(
        transport.mode ?? 'memory',
        ['memory', 'worker', 'websocket', 'webrtc'] as const,
        'transport.mode',
      ),
      ...(transport.url === undefined ? {} : { url: str(transport.url, 'transport.url') }),
      ...(transport.host === undefined ? {} : { host: str(transport.host, 'transport.host') }),
      ...(port === undefined ? {} : { port }),
      ...(transport.token === undefined ? {} : { token: str(transport.token, 'transport.token') }),
      maxPayload: positive(transport.maxPayload ?? d.transport.maxPayload, 'transport.maxPayload'),
      interceptors: list(transport.interceptors ?? [], 'transport.interceptors').map((v, i) =>
        oneOf(v, ['logging', 'compression'] as const, `transport.interceptors[${i}]`),
      ),
      iceServers: list(transport.iceServers ?? [], 'transport.iceServers').map((v, i) =>
        iceServer(v, `transport.iceServers[${i}]`),
      ),
    },
    timeouts: {
      connect: positive(timeouts.connect ?? d.timeouts.connect, 'timeouts.connect'),
      request: nonNegative(timeouts.request ?? d.timeouts.request, 'timeouts.request'),
    },
    heartbeat,
    federation: {
      rounds: integer(fed.rounds ?? d.federation.rounds, 'federation.rounds', 1),
      minClients,
      minResults,
      fraction,
      overSelection,
      deadline: nonNegative(fed.deadline ?? 0, 'federation.deadline'),
      seed: integer(fed.seed ?? 0, 'federation.seed', 0),
      federatedEvaluation: bool(fed.federatedEvaluation ?? false, 'federation.federatedEvaluation'),
      strategy: chosenStrategy,
      schedule,
      train: fed.train === undefined ? {} : record(fed.train, 'federation.train'),
      ...(fed.checkpoint === undefined ? {} : { checkpoint: str(fed.checkpoint, 'federation.checkpoint') }),
      onRoundFailure: oneOf(
        fed.onRoundFailure ?? d.federation.onRoundFailure,
        ['retry', 'stop'] as const,
        'federation.onRoundFailure',
      ),
    },
    security: {
      ...(security.credentials === undefined
        ? {}
        : { credentials: credentials(security.credentials, 'security.credentials') }),
      relay: oneOf(security.relay ?? ds.relay, ['none', 'same-role'] as const, 'security.relay'),
      maxConnections: bytes('maxConnections'),
      upgradeTimeout: bytes('upgradeTimeout'),
      helloBytes: bytes('helloBytes'),
      linkPartialBytes: bytes('linkPartialBytes'),
      linkPartialChunks: bytes('linkPartialChunks'),
      totalPartialBytes: bytes('totalPartialBytes'),
      outboundBytes: bytes('outboundBytes'),
      maxExamples: bytes('maxExamples'),
      excludeAfter: bytes('excludeAfter'),
      excludeRounds: integer(security.excludeRounds ?? ds.excludeRounds, 'security.excludeRounds', 0),
      recentDeparted: integer(security.recentDeparted ?? ds.recentDeparted, 'security.recentDeparted', 0),
    },
  };
  return config;
}

function credentials(v: unknown, field: string): Record<string, string> {
  const map = record(v, field);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [id, secret] of Object.entries(map)) {
    if (!isNodeId(id)) fail(`${field} key`, 'a node id', id);
    out[id] = str(secret, `${field}.${id}`);
  }
  return out;
}

function iceServer(v: unknown, field: string): IceServer {
  const server = record(v, field);
  unknownKeys(server, ['urls', 'username', 'credential'], field);
  const urls = Array.isArray(server.urls)
    ? server.urls.map((u, i) => str(u, `${field}.urls[${i}]`))
    : str(server.urls, `${field}.urls`);
  return {
    urls,
    ...(server.username === undefined ? {} : { username: str(server.username, `${field}.username`) }),
    ...(server.credential === undefined ? {} : { credential: str(server.credential, `${field}.credential`) }),
  };
}
function fail(field: string, expected: string, got: unknown): never {
  throw new OiafedError('INVALID_CONFIG', `${field} must be ${expected} (got ${JSON.stringify(got)})`);
}
function record(v: unknown, field: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'an object', v);
  return v as Record<string, unknown>;
}
function scheduleOf(raw: Record<string, unknown>): RunConfig['federation']['schedule'] {
  const name = oneOf(raw.name ?? 'sync', ['sync', 'fedbuff'] as const, 'federation.schedule.name');
  if (name === 'sync') {
    unknownKeys(raw, ['name'], 'federation.schedule');
    return { name };
  }
  unknownKeys(raw, ['name', 'concurrency', 'buffer', 'maxStaleness'], 'federation.schedule');
  const concurrency = integer(raw.concurrency ?? 10, 'federation.schedule.concurrency', 1);
  const buffer = integer(raw.buffer ?? Math.min(concurrency, 5), 'federation.schedule.buffer', 1);
  if (buffer > concurrency)
    fail('federation.schedule.buffer', `at most federation.schedule.concurrency (${concurrency})`, buffer);
  return {
    name,
    concurrency,
    buffer,
    maxStaleness: integer(raw.maxStaleness ?? 10, 'federation.schedule.maxStaleness', 0),
  };
}

function unknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length)
    throw new OiafedError(
      'INVALID_CONFIG',
      `${where}.${extra[0]} is not a known setting (known: ${known.join(', ')})`,
    );
}
function str(v: unknown, field: string): string {
  if (typeof v !== 'string' || v === '') fail(field, 'a non-empty string', v);
  return v;
}
function num(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(field, 'a number', v);
  return v;
}
function positive(v: unknown, field: string): number {
  if (!(num(v, field) > 0)) fail(field, 'a number > 0', v);
  return v as number;
}
function nonNegative(v: unknown, field: string): number {
  if (!(num(v, field) >= 0)) fail(field, 'a number >= 0', v);
  return v as number;
}
function integer(v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
    fail(field, `an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`, v);
  return v as number;
}
function bool(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') fail(field, 'true or false', v);
  return v;
}
function list(v: unknown, field: string): unknown[] {
  if (!Array.isArray(v)) fail(field, 'a list', v);
  return v as unknown[];
}
function oneOf<T extends string>(v: unknown, options: readonly T[], field: string): T {
  if (!options.includes(v as T)) fail(field, `one of ${options.join(', ')}`, v);
  return v as T;
}
