import { OiafedError } from './wire/errors.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD, type ServerLimits } from './links/limits.js';
import type { TrainerName } from './fl/fedavg.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from './membership/heartbeat.js';
import { isNodeId } from './wire/node-id.js';
import type { IceServer } from './links/peer.js';
import { DEFAULT_CONNECT_TIMEOUT } from './links/connect-timeout.js';
import { DEFAULT_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
import { DEFAULT_EXCLUDE } from './fl/exclusion.js';
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
    minClients: number;
    /** Fraction of connected learners selected per round, in (0, 1]. */
    fraction: number;
    /** ms a round may take (0: none). */
    deadline: number;
    seed: number;
    federatedEvaluation: boolean;
    trainer: { name: TrainerName; options: Record<string, unknown> };
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
}

/** Every field optional, nested: what a user writes. */
export type RunConfigInput = { [K in keyof RunConfig]?: RunConfig[K] extends object ? Partial<RunConfig[K]> : RunConfig[K] };

export const DEFAULT_RUN_CONFIG: RunConfig = {
  node: { id: 'trainer', role: 'trainer' },
  transport: { mode: 'memory', maxPayload: DEFAULT_MAX_PAYLOAD, interceptors: [], iceServers: [] },
  timeouts: { connect: DEFAULT_CONNECT_TIMEOUT, request: DEFAULT_REQUEST_TIMEOUT },
  heartbeat: DEFAULT_HEARTBEAT,
  federation: {
    rounds: 10,
    minClients: 1,
    fraction: 1,
    deadline: 0,
    seed: 0,
    federatedEvaluation: false,
    trainer: { name: 'fedavg', options: {} },
    train: {},
    onRoundFailure: 'retry',
  },
  security: {
    relay: 'none',
    ...DEFAULT_LIMITS,
    maxExamples: DEFAULT_MAX_EXAMPLES,
    excludeAfter: DEFAULT_EXCLUDE.after,
    excludeRounds: DEFAULT_EXCLUDE.rounds,
  },
};

const SECTIONS = Object.keys(DEFAULT_RUN_CONFIG) as (keyof RunConfig)[];

/** Fills defaults and checks every field; an invalid one fails with INVALID_CONFIG naming it. */
export function resolveConfig(input: unknown): RunConfig {
  const raw = record(input, 'config');
  // `retry` was validated and read by nothing: a trainer's calls are not retried (a train call is
  // not safe to repeat blindly), and the learners' reconnect policy is theirs (joinFederation's retry).
  if (raw.retry !== undefined) {
    throw new OiafedError('INVALID_CONFIG', "retry is not a setting of a run: the trainer retries no call; learners set their reconnect policy where they join (joinFederation's retry)");
  }
  unknownKeys(raw, SECTIONS, 'config');
  const d = DEFAULT_RUN_CONFIG;
  const section = (key: keyof RunConfig): Record<string, unknown> => (raw[key] === undefined ? {} : record(raw[key], key));

  const node = section('node');
  unknownKeys(node, ['id', 'role'], 'node');
  const transport = section('transport');
  unknownKeys(transport, ['mode', 'url', 'host', 'port', 'token', 'maxPayload', 'interceptors', 'iceServers'], 'transport');
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
    heartbeat = { interval: positive(hb.interval ?? DEFAULT_HEARTBEAT.interval, 'heartbeat.interval'), timeout: positive(hb.timeout ?? DEFAULT_HEARTBEAT.timeout, 'heartbeat.timeout') };
    if (heartbeat.timeout <= heartbeat.interval) fail('heartbeat.timeout', `greater than heartbeat.interval (${heartbeat.interval})`, heartbeat.timeout);
  }

  const trainer = fed.trainer === undefined ? d.federation.trainer : record(fed.trainer, 'federation.trainer');
  unknownKeys(trainer, ['name', 'options'], 'federation.trainer');
  const trainerName = oneOf(trainer.name ?? 'fedavg', ['fedavg', 'fedprox'] as const, 'federation.trainer.name');
  const port = transport.port === undefined ? undefined : integer(transport.port, 'transport.port', 0, 65_535);
  const fraction = num(fed.fraction ?? 1, 'federation.fraction');
  if (!(fraction > 0 && fraction <= 1)) fail('federation.fraction', 'in (0, 1]', fraction);

  const config: RunConfig = {
    node: { id, role: str(node.role ?? d.node.role, 'node.role') },
    transport: {
      mode: oneOf(transport.mode ?? 'memory', ['memory', 'worker', 'websocket', 'webrtc'] as const, 'transport.mode'),
      ...(transport.url === undefined ? {} : { url: str(transport.url, 'transport.url') }),
      ...(transport.host === undefined ? {} : { host: str(transport.host, 'transport.host') }),
      ...(port === undefined ? {} : { port }),
      ...(transport.token === undefined ? {} : { token: str(transport.token, 'transport.token') }),
      maxPayload: positive(transport.maxPayload ?? d.transport.maxPayload, 'transport.maxPayload'),
      interceptors: list(transport.interceptors ?? [], 'transport.interceptors').map((v, i) => oneOf(v, ['logging', 'compression'] as const, `transport.interceptors[${i}]`)),
      iceServers: list(transport.iceServers ?? [], 'transport.iceServers').map((v, i) => iceServer(v, `transport.iceServers[${i}]`)),
    },
    timeouts: { connect: positive(timeouts.connect ?? d.timeouts.connect, 'timeouts.connect'), request: nonNegative(timeouts.request ?? d.timeouts.request, 'timeouts.request') },
    heartbeat,
    federation: {
      rounds: integer(fed.rounds ?? d.federation.rounds, 'federation.rounds', 1),
      minClients: integer(fed.minClients ?? d.federation.minClients, 'federation.minClients', 1),
      fraction,
      deadline: nonNegative(fed.deadline ?? 0, 'federation.deadline'),
      seed: integer(fed.seed ?? 0, 'federation.seed', 0),
      federatedEvaluation: bool(fed.federatedEvaluation ?? false, 'federation.federatedEvaluation'),
      trainer: { name: trainerName, options: trainer.options === undefined ? {} : record(trainer.options, 'federation.trainer.options') },
      train: fed.train === undefined ? {} : record(fed.train, 'federation.train'),
      ...(fed.checkpoint === undefined ? {} : { checkpoint: str(fed.checkpoint, 'federation.checkpoint') }),
      onRoundFailure: oneOf(fed.onRoundFailure ?? d.federation.onRoundFailure, ['retry', 'stop'] as const, 'federation.onRoundFailure'),
    },
    security: {
      ...(security.credentials === undefined ? {} : { credentials: credentials(security.credentials, 'security.credentials') }),
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
  const urls = Array.isArray(server.urls) ? server.urls.map((u, i) => str(u, `${field}.urls[${i}]`)) : str(server.urls, `${field}.urls`);
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
function unknownKeys(obj: Record<string, unknown>, known: readonly string[], where: string): void {
  const extra = Object.keys(obj).filter((k) => !known.includes(k));
  if (extra.length) throw new OiafedError('INVALID_CONFIG', `${where}.${extra[0]} is not a known setting (known: ${known.join(', ')})`);
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
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) fail(field, `an integer from ${min}${max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : ''}`, v);
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
