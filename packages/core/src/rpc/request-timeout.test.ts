import { afterEach, describe, expect, it, vi } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { DEFAULT_REQUEST_TIMEOUT } from './request-timeout.js';

const nodes: Node[] = [];
afterEach(() => {
  vi.useRealTimers();
  nodes.splice(0).forEach((n) => n.close());
});

describe('the default request timeout', () => {
  it('is the one a Node without a timeout gives its calls (the run config reads the same constant)', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    const leaf = new Node({ id: 'leaf', heartbeat: false });
    nodes.push(hub, leaf);
    leaf.handle('hang', () => new Promise(() => undefined));
    await joinInMemory(hub, leaf);
    vi.useFakeTimers();
    let settled = false;
    const call = hub.call('leaf', 'hang', []);
    call.catch(() => undefined).finally(() => (settled = true));
    await vi.advanceTimersByTimeAsync(DEFAULT_REQUEST_TIMEOUT - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await expect(call).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringContaining(`after ${DEFAULT_REQUEST_TIMEOUT} ms`),
    });
  });
});
