import { OiafedError } from './wire/errors.js';
import { STRATEGY_NAMES } from './fl/strategies/by-name.js';
import { resolveSecureAggregation } from './fl/secure/options.js';
import { DOWN_CODECS, resolveCodecs, type CodecOptions } from './fl/codecs/codec-options.js';
import { CODEC_NAMES } from './fl/codecs/tensor-codec.js';
import { DEFAULT_PRIVACY, resolvePrivacy, type AdaptiveClipping } from './fl/privacy/privacy-options.js';
import { DEFAULT_HEARTBEAT } from './membership/heartbeat.js';
import { isNodeId } from './wire/node-id.js';
import { DEFAULT_RUN_CONFIG, type PrivacyConfig, type RunConfig, type SecurityConfig } from './config.js';
import { AGGREGATOR_ROLE, checkAggregator, parentOf } from './hierarchy-config.js';
import {
  bool,
  credentials,
  fail,
  iceServer,
  integer,
  list,
  nonNegative,
  num,
  oneOf,
  positive,
  record,
  str,
  unknownKeys,
} from './config-fields.js';

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
  unknownKeys(node, ['id', 'role', 'parent', 'parentToken', 'parentMaxExamples'], 'node');
  const transport = section('transport');
  unknownKeys(
    transport,
    ['mode', 'url', 'host', 'port', 'token', 'maxPayload', 'interceptors', 'iceServers'],
    'transport',
  );
  const timeouts = section('timeouts');
  unknownKeys(timeouts, ['connect', 'request'], 'timeouts');
  const fed = section('federation');
  unknownKeys(
    fed,
    [...Object.keys(d.federation), 'checkpoint', 'secureAggregation', 'privacy', 'codecs'],
    'federation',
  );
  const security = section('security');
  unknownKeys(security, [...Object.keys(d.security), 'credentials'], 'security');
  const dashboard = section('dashboard');
  unknownKeys(dashboard, ['enabled', 'adminToken', 'port', 'maxObservers'], 'dashboard');
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
  const host = transport.host === undefined ? undefined : str(transport.host, 'transport.host');
  const fraction = num(fed.fraction ?? 1, 'federation.fraction');
  if (!(fraction > 0 && fraction <= 1)) fail('federation.fraction', 'in (0, 1]', fraction);

  const config: RunConfig = {
    node: { id, role: str(node.role ?? d.node.role, 'node.role'), ...parentOf(node) },
    transport: {
      mode: oneOf(
        transport.mode ?? 'memory',
        ['memory', 'worker', 'websocket', 'webrtc'] as const,
        'transport.mode',
      ),
      ...(transport.url === undefined ? {} : { url: str(transport.url, 'transport.url') }),
      ...(host === undefined ? {} : { host }),
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
      ...(fed.secureAggregation === undefined
        ? {}
        : {
            secureAggregation: resolveSecureAggregation(
              record(fed.secureAggregation, 'federation.secureAggregation'),
            ),
          }),
      onRoundFailure: oneOf(
        fed.onRoundFailure ?? d.federation.onRoundFailure,
        ['retry', 'stop'] as const,
        'federation.onRoundFailure',
      ),
      ...(fed.privacy === undefined ? {} : { privacy: privacyOf(record(fed.privacy, 'federation.privacy')) }),
      ...(fed.codecs === undefined
        ? {}
        : {
            codecs: codecsOf(record(fed.codecs, 'federation.codecs'), fed.secureAggregation !== undefined),
          }),
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
      maxDecodedBytes: bytes('maxDecodedBytes'),
      maxExamples: bytes('maxExamples'),
      excludeAfter: bytes('excludeAfter'),
      excludeRounds: integer(security.excludeRounds ?? ds.excludeRounds, 'security.excludeRounds', 0),
      recentDeparted: integer(security.recentDeparted ?? ds.recentDeparted, 'security.recentDeparted', 0),
    },
    dashboard: dashboardOf(dashboard, host),
  };
  if (config.node.role === AGGREGATOR_ROLE) checkAggregator(config);
  return config;
}

/** The dashboard section: off by default, and never open to a public interface without an admin token. */
function dashboardOf(raw: Record<string, unknown>, host: string | undefined): RunConfig['dashboard'] {
  const enabled = bool(raw.enabled ?? false, 'dashboard.enabled');
  const adminToken = raw.adminToken === undefined ? undefined : str(raw.adminToken, 'dashboard.adminToken');
  if (adminToken === '') fail('dashboard.adminToken', 'a non-empty token', adminToken);
  if (enabled && adminToken === undefined && !isLoopback(host ?? '127.0.0.1'))
    fail(
      'dashboard.adminToken',
      `set when the dashboard is served on ${host} (not loopback): anyone who reaches that port would watch the run`,
      adminToken,
    );
  return {
    enabled,
    ...(adminToken === undefined ? {} : { adminToken }),
    ...(raw.port === undefined ? {} : { port: integer(raw.port, 'dashboard.port', 0, 65_535) }),
    maxObservers: integer(
      raw.maxObservers ?? DEFAULT_RUN_CONFIG.dashboard.maxObservers,
      'dashboard.maxObservers',
      1,
    ),
  };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
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

/**
 * `federation.privacy`: each field's type checked here, its range by the privacy options themselves
 * (one check for a config file and for code), defaults from DEFAULT_PRIVACY.
 */
function privacyOf(raw: Record<string, unknown>): PrivacyConfig {
  const where = 'federation.privacy';
  unknownKeys(
    raw,
    ['noiseMultiplier', 'clip', 'delta', 'budget', 'mode', 'sampleRate', 'expectedClients'],
    where,
  );
  if (raw.noiseMultiplier === undefined) fail(`${where}.noiseMultiplier`, 'set (a number > 0)', undefined);
  if (raw.clip === undefined) fail(`${where}.clip`, 'set (a number > 0, or { initial, ... })', undefined);
  const optional = (key: string) => (raw[key] === undefined ? undefined : num(raw[key], `${where}.${key}`));
  let clip: number | AdaptiveClipping;
  if (typeof raw.clip === 'object' && raw.clip !== null && !Array.isArray(raw.clip)) {
    const adaptive = raw.clip as Record<string, unknown>;
    unknownKeys(adaptive, ['initial', 'targetQuantile', 'learningRate', 'countNoise'], `${where}.clip`);
    clip = { initial: num(adaptive.initial, `${where}.clip.initial`) };
    for (const key of ['targetQuantile', 'learningRate', 'countNoise'] as const)
      if (adaptive[key] !== undefined) clip[key] = num(adaptive[key], `${where}.clip.${key}`);
  } else clip = num(raw.clip, `${where}.clip`);
  const budget = optional('budget');
  const expectedClients = optional('expectedClients');
  const resolved = resolvePrivacy(
    {
      noiseMultiplier: num(raw.noiseMultiplier, `${where}.noiseMultiplier`),
      clip,
      delta: optional('delta') ?? DEFAULT_PRIVACY.delta,
      mode: oneOf(raw.mode ?? DEFAULT_PRIVACY.mode, ['central', 'distributed'] as const, `${where}.mode`),
      sampleRate: optional('sampleRate') ?? DEFAULT_PRIVACY.sampleRate,
      ...(budget === undefined ? {} : { budget }),
      ...(expectedClients === undefined ? {} : { expectedClients }),
    },
    where,
  );
  const { budget: b, expectedClients: e, ...rest } = resolved;
  return {
    ...rest,
    ...(b === undefined ? {} : { budget: b }),
    ...(e === undefined ? {} : { expectedClients: e }),
  };
}

/** `federation.codecs`: each field's type checked here, its range by resolveCodecs, both naming the field. */
function codecsOf(raw: Record<string, unknown>, secure: boolean): CodecOptions {
  const where = 'federation.codecs';
  unknownKeys(raw, ['down', 'up', 'blockSize', 'fraction', 'warmupRounds', 'warmupFraction'], where);
  const options: CodecOptions = {
    ...(raw.down === undefined ? {} : { down: oneOf(raw.down, DOWN_CODECS, `${where}.down`) }),
    ...(raw.up === undefined ? {} : { up: oneOf(raw.up, CODEC_NAMES, `${where}.up`) }),
    ...(raw.blockSize === undefined ? {} : { blockSize: num(raw.blockSize, `${where}.blockSize`) }),
    ...(raw.fraction === undefined ? {} : { fraction: num(raw.fraction, `${where}.fraction`) }),
    ...(raw.warmupRounds === undefined
      ? {}
      : { warmupRounds: num(raw.warmupRounds, `${where}.warmupRounds`) }),
    ...(raw.warmupFraction === undefined
      ? {}
      : { warmupFraction: num(raw.warmupFraction, `${where}.warmupFraction`) }),
  };
  resolveCodecs(options, where);
  if (secure && (options.up !== undefined || options.down !== undefined))
    fail(
      where,
      'absent with federation.secureAggregation (the masked update cannot also travel in a codec: see the README, Compressed updates)',
      raw,
    );
  return options;
}
