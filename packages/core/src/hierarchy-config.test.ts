import { describe, expect, it } from 'vitest';
import { resolveConfig } from './resolve-config.js';

const aggregator = (node: Record<string, unknown>, federation: Record<string, unknown> = {}) =>
  resolveConfig({ node: { id: 'aggregator-1', role: 'aggregator', ...node }, federation });

describe('an aggregator in the run config', () => {
  it('takes node.parent as one URL or a list (home first, then where it re-homes), and node.parentToken', () => {
    expect(aggregator({ parent: 'ws://root:8787' }).node).toEqual({
      id: 'aggregator-1',
      role: 'aggregator',
      parent: ['ws://root:8787'],
    });
    expect(aggregator({ parent: ['ws://a:1', 'wss://b:2'], parentToken: 'sesame' }).node).toEqual({
      id: 'aggregator-1',
      role: 'aggregator',
      parent: ['ws://a:1', 'wss://b:2'],
      parentToken: 'sesame',
    });
    expect(resolveConfig({}).node).toEqual({ id: 'trainer', role: 'trainer' });
  });

  it("takes node.parentMaxExamples, the parent's maxExamples its reported total is capped at", () => {
    expect(aggregator({ parent: 'ws://root:8787', parentMaxExamples: 5_000_000_000 }).node).toEqual({
      id: 'aggregator-1',
      role: 'aggregator',
      parent: ['ws://root:8787'],
      parentMaxExamples: 5_000_000_000,
    });
  });

  it.each([
    [{ role: 'aggregator' }, /node\.parent must be set for an aggregator/],
    [
      { role: 'trainer', parent: 'ws://root:8787' },
      /node\.parent must be set only with node\.role aggregator/,
    ],
    [{ role: 'aggregator', parent: [] }, /node\.parent must be at least one URL/],
    [
      { role: 'aggregator', parent: ['ws://a:1', 'http://b:2'] },
      /node\.parent\[1\] must be a ws:\/\/ or wss:\/\/ URL/,
    ],
    [{ role: 'aggregator', parent: 7 }, /node\.parent/],
    [{ parentToken: 'x' }, /node\.parentToken must be set only with node\.parent/],
    [{ parentMaxExamples: 10 }, /node\.parentMaxExamples must be set only with node\.parent/],
    [{ role: 'aggregator', parent: 'ws://r:1', parentMaxExamples: 0 }, /node\.parentMaxExamples/],
  ])('refuses node %j naming the field', (node, why) => {
    expect(() => resolveConfig({ node: { id: 'a', ...node } })).toThrow(why);
  });

  it.each([
    [{ strategy: { name: 'krum' } }, /federation\.strategy\.name must be fedavg or fedprox at an aggregator/],
    [{ strategy: { name: 'fedadam' } }, /federation\.strategy\.name must be fedavg or fedprox/],
    [{ schedule: { name: 'fedbuff' } }, /federation\.schedule\.name must be sync at an aggregator/],
    [
      { secureAggregation: { clipRange: 2 } },
      /federation\.secureAggregation must be absent at an aggregator/,
    ],
    [{ privacy: { noiseMultiplier: 1, clip: 1 } }, /federation\.privacy must be absent at an aggregator/],
    [{ federatedEvaluation: true }, /federation\.federatedEvaluation must be false at an aggregator/],
  ])('refuses federation %j at an aggregator, with INVALID_CONFIG naming the field', (federation, why) => {
    expect(() => aggregator({ parent: 'ws://root:8787' }, federation)).toThrow(why);
  });

  it('runs fedprox at an aggregator', () => {
    const config = aggregator(
      { parent: 'ws://root:8787' },
      { strategy: { name: 'fedprox', options: { mu: 0.1 } } },
    );
    expect(config.federation.strategy).toEqual({ name: 'fedprox', options: { mu: 0.1 } });
  });
});
