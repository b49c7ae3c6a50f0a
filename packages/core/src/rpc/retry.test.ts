import { afterEach, describe, expect, it } from 'vitest';
import { OiafedError } from '../wire/errors.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import {
  DEFAULT_RETRY,
  isRetriable,
  RETRIABLE_CODES,
  retryDelay,
  withRetry,
  type RetryPolicy,
} from './retry.js';

const policy = (over: Partial<RetryPolicy>): RetryPolicy => ({ ...DEFAULT_RETRY, jitter: 0, ...over });

describe('retry policy', () => {
  it('retries one set of codes, the one the README names, for calls and reconnects alike', () => {
    expect([...RETRIABLE_CODES].sort()).toEqual([
      'DISCONNECTED',
      'ID_TAKEN',
      'NOT_CONNECTED',
      'TIMEOUT',
      'UNKNOWN_TARGET',
    ]);
    expect(isRetriable(new OiafedError('DISCONNECTED', 'link lost'))).toBe(true);
    for (const final of ['UNAUTHORIZED', 'VERSION_MISMATCH', 'REMOTE_ERROR', 'INTERNAL'] as const)
      expect(isRetriable(new OiafedError(final, 'final'))).toBe(false);
    expect(isRetriable(new Error('not ours'))).toBe(false);
  });

  it('grows delays as the strategy says, capped at maxDelay', () => {
    const at = (p: RetryPolicy) => [1, 2, 3, 4, 5].map((n) => retryDelay(p, n));
    expect(at(policy({ strategy: 'constant', initialDelay: 100 }))).toEqual([100, 100, 100, 100, 100]);
    expect(at(policy({ strategy: 'linear', initialDelay: 100 }))).toEqual([100, 200, 300, 400, 500]);
    expect(at(policy({ strategy: 'exponential', initialDelay: 100, maxDelay: 1000 }))).toEqual([
      100, 200, 400, 800, 1000,
    ]);
  });

  it('spreads delays within the jitter fraction', () => {
    const p = policy({ strategy: 'constant', initialDelay: 100, jitter: 0.5 });
    expect(retryDelay(p, 1, () => 0)).toBe(50);
    expect(retryDelay(p, 1, () => 0.5)).toBe(100);
    expect(retryDelay(p, 1, () => 0.999)).toBeCloseTo(149.9);
  });

  it('retries retriable failures up to maxAttempts and never a handler error', async () => {
    let attempts = 0;
    const flaky = () =>
      ++attempts < 3 ? Promise.reject(new OiafedError('TIMEOUT', 't')) : Promise.resolve('ok');
    expect(await withRetry(policy({ initialDelay: 1, maxAttempts: 3 }), flaky)).toBe('ok');
    expect(attempts).toBe(3);

    attempts = 0;
    const broken = () => (++attempts, Promise.reject(new OiafedError('REMOTE_ERROR', 'bug')));
    await expect(withRetry(policy({ initialDelay: 1, maxAttempts: 5 }), broken)).rejects.toMatchObject({
      code: 'REMOTE_ERROR',
    });
    expect(attempts).toBe(1);

    attempts = 0;
    const down = () => (++attempts, Promise.reject(new OiafedError('DISCONNECTED', 'gone')));
    await expect(withRetry(policy({ initialDelay: 1, maxAttempts: 4 }), down)).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
    expect(attempts).toBe(4);
  });
});

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

describe('retriable calls', () => {
  it('retry a call marked retriable after a timeout, and not one left unmarked', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    const leaf = new Node({ id: 'leaf', heartbeat: false });
    nodes.push(hub, leaf);
    await joinInMemory(hub, leaf, { strict: true });
    let calls = 0;
    leaf.handle('flaky', () => (++calls === 1 ? new Promise(() => undefined) : 'second time lucky'));
    const retry = { initialDelay: 1, maxAttempts: 3, jitter: 0 };
    expect(await hub.call('leaf', 'flaky', [], { timeout: 30, retry })).toBe('second time lucky');
    expect(calls).toBe(2);

    calls = 0;
    await expect(hub.call('leaf', 'flaky', [], { timeout: 30 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(calls).toBe(1);
  });
});
