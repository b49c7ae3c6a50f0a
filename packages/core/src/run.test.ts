import { describe, expect, it } from 'vitest';
import { resolveConfig } from './resolve-config.js';
import { joinInMemory } from './connect/join-in-memory.js';
import { LinearLearner, linearData } from './fl/linear-learner.test-support.js';
import { DEFAULT_HEARTBEAT } from './membership/heartbeat.js';
import { Node } from './rpc/node.js';
import { DEFAULT_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
import { createFederation } from './run.js';
import { FedAdam } from './fl/strategies/server-optimized.js';
import { FedMedian } from './fl/strategies/robust.js';
import { serveLearner } from './fl/serve-learner.js';
import type { Federation } from './fl/federation.js';
import type { Interceptor } from './rpc/interceptors.js';

describe('createFederation', () => {
  it('gives the trainer node the id and role of config.node, which a joining learner is told', async () => {
    const { node, federation } = createFederation(
      resolveConfig({ node: { id: 'hub', role: 'coordinator' }, heartbeat: false }),
    );
    const learner = new Node({ id: 'learner-1', role: 'learner', heartbeat: false });
    try {
      expect(await joinInMemory(node, learner)).toMatchObject({ id: 'hub', role: 'coordinator' });
      expect(federation.clients()).toEqual(['learner-1']);
    } finally {
      learner.close();
      node.close();
    }
  });

  it('runs the rounds of config.federation with the learners that join', async () => {
    await withJoinedLearners(
      { rounds: 2, minClients: 2, train: { lr: 0.05 }, onRoundFailure: 'stop' },
      [1, 2],
      async (federation) => {
        const result = await federation.start();
        expect(result).toMatchObject({ rounds: 2, reason: 'completed' });
        expect(federation.history.map((s) => s.results)).toEqual([2, 2]);
      },
    );
  });

  it('runs federation.secureAggregation: learners served by serveLearner send masked inputs only', async () => {
    const methods: string[] = [];
    const recordMethods: Interceptor = {
      name: 'methods',
      inbound: (f) => (f.kind === 'call' && methods.push(f.method), f),
    };
    await withJoinedLearners(
      {
        rounds: 1,
        minClients: 3,
        train: { lr: 0.05 },
        onRoundFailure: 'stop',
        secureAggregation: { clipRange: 4, bits: 32, maxExamples: 100 },
      },
      [1, 2, 3],
      async (federation) => {
        const result = await federation.start();
        expect(result.history[0]).toMatchObject({ results: 3, numExamples: 60 });
        // Training was asked inside the masked-input phase, never as a plain train call.
        expect(methods).toContain('oiafed.secagg.maskedInput');
        expect(methods).not.toContain('train');
      },
      [recordMethods],
    );
  });

  it('runs federation.privacy in distributed mode beside secureAggregation: each learner weighs 1, epsilon reported', async () => {
    await withJoinedLearners(
      {
        rounds: 1,
        minClients: 3,
        train: { lr: 0.05 },
        onRoundFailure: 'stop',
        secureAggregation: { clipRange: 4, bits: 32, maxExamples: 100 },
        privacy: { noiseMultiplier: 2, clip: 1, mode: 'distributed' },
      },
      [1, 2, 3],
      async (federation) => {
        const result = await federation.start();
        // Weighed alike in the sum, yet the summary counts the 60 examples they trained on.
        expect(result.history[0]).toMatchObject({ results: 3, numExamples: 60 });
        // Opacus, z 2, q 1, delta 1e-5, one step: epsilon 2.1657.
        expect(result.history[0]!.privacy!.epsilon).toBeCloseTo(2.1657156590294435, 9);
      },
    );
  });

  it('refuses secureAggregation beside central privacy: the trainer cannot clip masked updates', () => {
    const config = resolveConfig({
      federation: { secureAggregation: { clipRange: 1 }, privacy: { noiseMultiplier: 1, clip: 1 } },
    });
    expect(() => createFederation(config)).toThrow(/secureAggregation cannot run with central privacy/);
  });

  it('refuses secureAggregation with a strategy that does not aggregate by weighted mean, naming both', () => {
    const config = resolveConfig({
      federation: { strategy: { name: 'krum', options: {} }, secureAggregation: { clipRange: 1 } },
    });
    expect(() => createFederation(config)).toThrow(
      /federation.secureAggregation cannot run with strategy krum/,
    );
  });

  it('builds its node from the defaults the config took from their modules', () => {
    const config = resolveConfig({});
    expect(config.timeouts.request).toBe(DEFAULT_REQUEST_TIMEOUT);
    expect(config.heartbeat).toBe(DEFAULT_HEARTBEAT);
    const { node } = createFederation(config);
    expect(node).toMatchObject({ id: 'trainer', role: 'trainer' });
    node.close();
  });

  it('runs the strategy and schedule the config names', () => {
    const { node, federation } = createFederation(
      resolveConfig({ federation: { strategy: { name: 'fedadam', options: { eta: 0.05 } } } }),
    );
    expect(federation.strategy).toBeInstanceOf(FedAdam);
    node.close();
  });

  it("takes a module's strategy from the platform, and refuses to run without it", () => {
    const config = resolveConfig({ federation: { strategy: { module: './mine.js', options: {} } } });
    expect(() => createFederation(config)).toThrow(
      /federation\.strategy\.module "\.\/mine\.js" is loaded by the platform/,
    );
    const strategy = new FedMedian();
    const { node, federation } = createFederation(config, { strategy });
    expect(federation.strategy).toBe(strategy);
    node.close();
  });
});

/**
 * The trainer `createFederation` makes from these `federation` settings, and one learner per seed
 * on linear data (served by serveLearner, with `interceptors` on its node) joined to it in memory;
 * `use` runs with the federation, then every node is closed.
 */
async function withJoinedLearners(
  federation: Record<string, unknown>,
  seeds: number[],
  use: (federation: Federation) => Promise<void>,
  interceptors: Interceptor[] = [],
): Promise<void> {
  const made = createFederation(resolveConfig({ heartbeat: false, federation }));
  const learners = seeds.map((seed) => {
    const learner = new Node({ id: `learner-${seed}`, role: 'learner', heartbeat: false, interceptors });
    serveLearner(learner, new LinearLearner(linearData(seed, 20)));
    return learner;
  });
  try {
    await Promise.all(learners.map((learner) => joinInMemory(made.node, learner)));
    await use(made.federation);
  } finally {
    for (const learner of learners) learner.close();
    made.node.close();
  }
}
