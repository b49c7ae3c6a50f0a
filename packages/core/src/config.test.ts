import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from './config.js';
import { resolveConfig } from './resolve-config.js';
import { DEFAULT_CONNECT_TIMEOUT } from './links/connect-timeout.js';
import { DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD } from './links/limits.js';
import { DEFAULT_EXCLUDE } from './fl/exclusion.js';
import { DEFAULT_MAX_EXAMPLES } from './fl/result-validation.js';
import { DEFAULT_HEARTBEAT } from './membership/heartbeat.js';
import { DEFAULT_RECENT_DEPARTED } from './membership/registry.js';
import { joinInMemory } from './connect/join-in-memory.js';
import { Node } from './rpc/node.js';
import { createFederation, createNode } from './run.js';
import { DifferentialPrivacy } from './fl/privacy/differential-privacy.js';
import { DEFAULT_PRIVACY } from './fl/privacy/privacy-options.js';
import { nextEvent } from './test-support.js';
import { DEFAULT_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
import { DEFAULT_MAX_OBSERVERS } from './fl/observers.js';

describe('run config', () => {
  it('fills every default from an empty object', () => {
    expect(resolveConfig({})).toEqual(DEFAULT_RUN_CONFIG);
  });

  it('takes each default from the module it configures, so the config and the code cannot disagree', () => {
    expect(DEFAULT_RUN_CONFIG.heartbeat).toBe(DEFAULT_HEARTBEAT);
    expect(DEFAULT_RUN_CONFIG.timeouts).toEqual({
      connect: DEFAULT_CONNECT_TIMEOUT,
      request: DEFAULT_REQUEST_TIMEOUT,
    });
    expect(DEFAULT_RUN_CONFIG.security).toMatchObject(DEFAULT_LIMITS);
    expect(DEFAULT_RUN_CONFIG.transport.maxPayload).toBe(DEFAULT_MAX_PAYLOAD);
    expect(DEFAULT_RUN_CONFIG.security).toMatchObject({
      maxExamples: DEFAULT_MAX_EXAMPLES,
      excludeAfter: DEFAULT_EXCLUDE.after,
      excludeRounds: DEFAULT_EXCLUDE.rounds,
      recentDeparted: DEFAULT_RECENT_DEPARTED,
    });
    expect(resolveConfig({ heartbeat: { interval: 1_000 } }).heartbeat).toEqual({
      interval: 1_000,
      timeout: DEFAULT_HEARTBEAT.timeout,
    });
  });

  it('keeps the dashboard off by default, and never serves it beyond loopback without an admin token', () => {
    expect(DEFAULT_RUN_CONFIG.dashboard).toEqual({ enabled: false, maxObservers: DEFAULT_MAX_OBSERVERS });
    expect(resolveConfig({ dashboard: { enabled: true, port: 0 } }).dashboard).toEqual({
      enabled: true,
      port: 0,
      maxObservers: DEFAULT_MAX_OBSERVERS,
    });
    const onAll = { transport: { mode: 'websocket', host: '0.0.0.0' } };
    expect(() => resolveConfig({ ...onAll, dashboard: { enabled: true } })).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringMatching(/^dashboard\.adminToken/),
      }),
    );
    expect(
      resolveConfig({ ...onAll, dashboard: { enabled: true, adminToken: 's3cret' } }).dashboard,
    ).toMatchObject({ enabled: true, adminToken: 's3cret' });
    // Off, a public host needs nothing; on loopback (127.0.0.0/8, ::1, localhost) the page may only watch.
    expect(resolveConfig({ ...onAll, dashboard: { enabled: false } }).dashboard.enabled).toBe(false);
    for (const host of ['127.0.0.2', '::1', 'localhost'])
      expect(resolveConfig({ transport: { host }, dashboard: { enabled: true } }).dashboard.enabled).toBe(
        true,
      );
    expect(() => resolveConfig({ dashboard: { enabled: true, adminToken: '' } })).toThrow(
      /dashboard\.adminToken/,
    );
    expect(() => resolveConfig({ dashboard: { public: true } })).toThrow(/dashboard/);
  });

  it('takes federation.codecs, names a bad field, and refuses it beside secureAggregation', () => {
    expect(
      resolveConfig({ federation: { codecs: { up: 'topk', fraction: 0.02 } } }).federation.codecs,
    ).toEqual({
      up: 'topk',
      fraction: 0.02,
    });
    expect(
      resolveConfig({ federation: { codecs: { up: 'topk', warmupRounds: 5, warmupFraction: 0.25 } } })
        .federation.codecs,
    ).toEqual({ up: 'topk', warmupRounds: 5, warmupFraction: 0.25 });
    expect(() => resolveConfig({ federation: { codecs: { warmupRounds: 2.5 } } })).toThrow(
      /federation\.codecs\.warmupRounds must be an integer from 0 to 10000/,
    );
    expect(() => resolveConfig({ federation: { codecs: { warmupFraction: 2 } } })).toThrow(
      /federation\.codecs\.warmupFraction must be a number in \(0, 1\]/,
    );
    expect(() => resolveConfig({ federation: { codecs: { up: 'zstd' } } })).toThrow(
      /federation\.codecs\.up must be one of fp16, int8, topk \(got "zstd"\)/,
    );
    expect(() => resolveConfig({ federation: { codecs: { down: 'topk' } } })).toThrow(
      /federation\.codecs\.down must be one of fp16, int8/,
    );
    expect(() => resolveConfig({ federation: { codecs: { fraction: 0 } } })).toThrow(
      /federation\.codecs\.fraction must be a number in \(0, 1\]/,
    );
    expect(() => resolveConfig({ federation: { codecs: { blockSize: 2.5 } } })).toThrow(
      /federation\.codecs\.blockSize must be an integer from 1 to 65536/,
    );
    expect(() => resolveConfig({ federation: { codecs: { level: 9 } } })).toThrow(
      /federation\.codecs\.level is not a known setting/,
    );
    expect(() =>
      resolveConfig({ federation: { codecs: { up: 'int8' }, secureAggregation: { clipRange: 2 } } }),
    ).toThrow(/federation\.codecs must be absent with federation\.secureAggregation/);
  });

  it('takes federation.secureAggregation with its defaults, and names a bad field', () => {
    expect(resolveConfig({}).federation.secureAggregation).toBeUndefined();
    expect(resolveConfig({ federation: { secureAggregation: { clipRange: 2 } } }).federation).toMatchObject({
      secureAggregation: { clipRange: 2, bits: 32, maxExamples: 1000 },
    });
    expect(() => resolveConfig({ federation: { secureAggregation: { clipRange: 1, bits: 40 } } })).toThrow(
      /federation\.secureAggregation\.bits must be an integer from 1 to 32 \(got 40\)/,
    );
    expect(() => resolveConfig({ federation: { secureAggregation: { clip: 1 } } })).toThrow(
      /federation\.secureAggregation\.clip is not a known setting/,
    );
    expect(() => resolveConfig({ federation: { secureAggregation: true } })).toThrow(
      /federation\.secureAggregation must be an object/,
    );
    expect(() =>
      resolveConfig({ federation: { secureAggregation: { clipRange: 1, degree: 4, threshold: 5 } } }),
    ).toThrow(
      /federation\.secureAggregation\.threshold must be at most federation\.secureAggregation\.degree/,
    );
  });

  it('has no retry section: nothing a trainer does would read it', () => {
    expect(DEFAULT_RUN_CONFIG).not.toHaveProperty('retry');
  });

  it('takes federation.checkpoint, the key the README documents', () => {
    expect(resolveConfig({ federation: { checkpoint: 'run.checkpoint' } }).federation.checkpoint).toBe(
      'run.checkpoint',
    );
  });

  it('takes the security budgets and per-learner credentials, and names a bad one', () => {
    const config = resolveConfig({
      security: { maxConnections: 10, relay: 'same-role', credentials: { 'learner-1': 's3cret' } },
    });
    expect(config.security).toMatchObject({
      maxConnections: 10,
      relay: 'same-role',
      credentials: { 'learner-1': 's3cret' },
      helloBytes: 64 * 1024,
    });
    expect(() => resolveConfig({ security: { outboundBytes: -1 } })).toThrow(/security\.outboundBytes/);
    expect(resolveConfig({}).security.maxDecodedBytes).toBe(16 * 1024 * 1024);
    expect(resolveConfig({ security: { maxDecodedBytes: 64 << 20 } }).security.maxDecodedBytes).toBe(
      64 << 20,
    );
    expect(() => resolveConfig({ security: { maxDecodedBytes: 0 } })).toThrow(/security\.maxDecodedBytes/);
    expect(() => resolveConfig({ security: { credentials: { 'bad id!': 'x' } } })).toThrow(
      /security\.credentials/,
    );
    expect(() => resolveConfig({ security: { relay: 'all' } })).toThrow(/security\.relay/);
  });

  it("gives security.recentDeparted to the trainer's registry: it remembers that many learners that left", async () => {
    expect(() => resolveConfig({ security: { recentDeparted: -1 } })).toThrow(/security\.recentDeparted/);
    const trainer = createNode(resolveConfig({ heartbeat: false, security: { recentDeparted: 1 } }));
    const learners = ['a', 'b'].map((id) => new Node({ id, heartbeat: false }));
    try {
      for (const learner of learners) {
        await joinInMemory(trainer, learner);
        const gone = nextEvent(trainer.events, 'CLIENT_UNREGISTERED');
        learner.close();
        await gone;
      }
      expect(trainer.registry.list().map((c) => c.id)).toEqual(['b']);
    } finally {
      trainer.close();
    }
  });

  it('keeps what the user set and defaults the rest', () => {
    const config = resolveConfig({
      transport: { mode: 'websocket', port: 8080, token: 't' },
      heartbeat: { interval: 100, timeout: 300 },
      federation: {
        rounds: 3,
        fraction: 0.5,
        strategy: { name: 'fedprox', options: { mu: 0.1 } },
        train: { lr: 0.05 },
      },
    });
    expect(config.transport).toMatchObject({ mode: 'websocket', port: 8080, token: 't', interceptors: [] });
    expect(config.heartbeat).toEqual({ interval: 100, timeout: 300 });
    expect(config.federation).toMatchObject({
      rounds: 3,
      fraction: 0.5,
      minClients: 1,
      minResults: 1,
      overSelection: 1,
      strategy: { name: 'fedprox', options: { mu: 0.1 } },
      train: { lr: 0.05 },
    });
    expect(resolveConfig({ heartbeat: false }).heartbeat).toBe(false);
    const turn = { urls: ['turn:10.0.0.2:3478'], username: 'u', credential: 'c' };
    expect(
      resolveConfig({ transport: { mode: 'webrtc', iceServers: [{ urls: 'stun:10.0.0.2' }, turn] } })
        .transport.iceServers,
    ).toEqual([{ urls: 'stun:10.0.0.2' }, turn]);
  });

  it.each([
    [{ federation: { rounds: 0 } }, /federation\.rounds must be an integer from 1 \(got 0\)/],
    [{ federation: { fraction: 2 } }, /federation\.fraction must be in \(0, 1\] \(got 2\)/],
    [
      { federation: { strategy: { name: 'fedsgd' } } },
      /federation\.strategy\.name must be one of fedavg, fedprox, fedavgm, .* \(got "fedsgd"\)/,
    ],
    [{ federation: { trainer: { name: 'fedavg' } } }, /federation\.trainer is not a known setting/],
    [
      { federation: { minClients: 4, minResults: 5 } },
      /federation\.minResults must be at most federation\.minClients \(4\)/,
    ],
    [{ federation: { overSelection: 0.5 } }, /federation\.overSelection must be a number >= 1/],
    [
      { federation: { schedule: { name: 'fedbuff', concurrency: 2, buffer: 3 } } },
      /federation\.schedule\.buffer must be at most federation\.schedule\.concurrency \(2\)/,
    ],
    [
      { federation: { schedule: { name: 'fedbuf' } } },
      /federation\.schedule\.name must be one of sync, fedbuff/,
    ],
    [
      { federation: { strategy: { name: 'fedavg', module: './mine.js' } } },
      /federation\.strategy must be a name or a module, not both/,
    ],
    [
      { transport: { mode: 'carrier-pigeon' } },
      /transport\.mode must be one of memory, worker, websocket, webrtc/,
    ],
    [{ transport: { port: 70000 } }, /transport\.port must be an integer from 0 to 65535/],
    [
      { transport: { iceServers: [{ url: 'stun:x' }] } },
      /transport\.iceServers\[0\]\.url is not a known setting/,
    ],
    [
      { transport: { iceServers: [{ urls: 3 }] } },
      /transport\.iceServers\[0\]\.urls must be a non-empty string/,
    ],
    [
      { heartbeat: { interval: 100, timeout: 50 } },
      /heartbeat\.timeout must be greater than heartbeat\.interval/,
    ],
    [{ timeouts: { request: -1 } }, /timeouts\.request must be a number >= 0/],
    [{ retry: { maxAttempts: 3 } }, /retry is not a setting of a run: the trainer retries no call/],
    [{ node: { id: 'has space' } }, /node\.id must be an id/],
    [{ federation: { roundz: 3 } }, /federation\.roundz is not a known setting/],
    [{ colour: 'blue' }, /config\.colour is not a known setting/],
    ['rounds: 3', /config must be an object/],
  ])('refuses %j with a message naming the field', (input, message) => {
    expect(() => resolveConfig(input)).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(message) }),
    );
  });
});

describe('federation.privacy', () => {
  it('is off by default, and fills its defaults from DEFAULT_PRIVACY when given', () => {
    expect(resolveConfig({}).federation.privacy).toBeUndefined();
    expect(
      resolveConfig({ federation: { privacy: { noiseMultiplier: 1, clip: 0.5 } } }).federation.privacy,
    ).toEqual({
      noiseMultiplier: 1,
      clip: 0.5,
      delta: DEFAULT_PRIVACY.delta,
      mode: DEFAULT_PRIVACY.mode,
      sampleRate: DEFAULT_PRIVACY.sampleRate,
    });
    const adaptive = resolveConfig({
      federation: {
        privacy: { noiseMultiplier: 1, clip: { initial: 0.1 }, expectedClients: 100, budget: 8 },
      },
    }).federation.privacy;
    expect(adaptive).toMatchObject({
      clip: {
        initial: 0.1,
        targetQuantile: DEFAULT_PRIVACY.targetQuantile,
        learningRate: DEFAULT_PRIVACY.learningRate,
        countNoise: 5,
      },
      budget: 8,
      expectedClients: 100,
    });
  });

  it('rejects a malformed section, naming the field', () => {
    const privacy = (p: unknown) => () => resolveConfig({ federation: { privacy: p } });
    expect(privacy('on')).toThrow(/federation\.privacy must be an object/);
    expect(privacy({ clip: 1 })).toThrow(/federation\.privacy\.noiseMultiplier must be set/);
    expect(privacy({ noiseMultiplier: 1 })).toThrow(/federation\.privacy\.clip must be set/);
    expect(privacy({ noiseMultiplier: '1', clip: 1 })).toThrow(
      /federation\.privacy\.noiseMultiplier must be a number/,
    );
    expect(privacy({ noiseMultiplier: 0, clip: 1 })).toThrow(
      /federation\.privacy\.noiseMultiplier must be a number > 0/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: -2 })).toThrow(
      /federation\.privacy\.clip must be a number > 0/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: 1, delta: 2 })).toThrow(
      /federation\.privacy\.delta must be in \(0, 1\)/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: 1, mode: 'local' })).toThrow(
      /federation\.privacy\.mode must be one of/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: 1, epsilon: 3 })).toThrow(
      /federation\.privacy\.epsilon is not a known setting/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: { initial: 1, rate: 2 } })).toThrow(
      /federation\.privacy\.clip\.rate is not a known setting/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: { initial: 1 } })).toThrow(
      /federation\.privacy\.clip\.countNoise/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: 1, sampleRate: 1.5 })).toThrow(
      /federation\.privacy\.sampleRate/,
    );
    expect(privacy({ noiseMultiplier: 1, clip: 1, expectedClients: 2.5 })).toThrow(
      /federation\.privacy\.expectedClients/,
    );
  });

  it('wraps the run\u2019s strategy in DifferentialPrivacy', () => {
    const config = resolveConfig({ federation: { privacy: { noiseMultiplier: 1.2, clip: 2, budget: 10 } } });
    const { node, federation } = createFederation(config);
    try {
      const strategy = federation.strategy;
      if (!(strategy instanceof DifferentialPrivacy)) throw new Error('the strategy is not wrapped');
      expect(strategy.name).toBe('fedavg+dp');
      expect(strategy.options).toMatchObject({
        noiseMultiplier: 1.2,
        budget: 10,
      });
    } finally {
      node.close();
    }
  });
});
