import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../wire/envelope.js';
import type { Link } from '../links/link.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import type { Interceptor } from './interceptors.js';
import { Node } from './node.js';

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function pair(hub: { interceptors?: Interceptor[] } = {}, leaf: { interceptors?: Interceptor[] } = {}) {
  const h = new Node({ id: 'hub', heartbeat: false, ...hub });
  const l = new Node({ id: 'leaf', heartbeat: false, ...leaf });
  nodes.push(h, l);
  await joinInMemory(h, l, { strict: true });
  return { hub: h, leaf: l };
}

const retry = { initialDelay: 1, maxAttempts: 3, jitter: 0 };

describe('requests', () => {
  it('retry an acknowledged event marked retriable after a timeout, as a call is retried', async () => {
    const { hub, leaf } = await pair();
    let heard = 0;
    leaf.on('flaky', () => (++heard === 1 ? new Promise<void>(() => undefined) : undefined));
    await expect(hub.emitWithAck('leaf', 'flaky', 'x', { timeout: 30, retry })).resolves.toBeUndefined();
    expect(heard).toBe(2);

    heard = 0;
    await expect(hub.emitWithAck('leaf', 'flaky', 'x', { timeout: 30 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    expect(heard).toBe(1);
  });

  it('fail a call with INTERNAL, not NOT_SERIALIZABLE, when an outbound interceptor has a bug', async () => {
    const buggy: Interceptor = {
      name: 'buggy',
      outbound: () => {
        throw new TypeError('cannot read frame.meta');
      },
    };
    const { hub, leaf } = await pair({ interceptors: [buggy] });
    leaf.handle('train', () => 1);
    await expect(hub.call('leaf', 'train', [])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/cannot read frame\.meta/),
    });
  });

  it('fail a call with INTERNAL when an asynchronous outbound interceptor rejects with a plain error', async () => {
    const buggy: Interceptor = { name: 'buggy', outbound: () => Promise.reject(new Error('lost the key')) };
    const { hub, leaf } = await pair({ interceptors: [buggy] });
    leaf.handle('train', () => 1);
    await expect(hub.call('leaf', 'train', [])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/lost the key/),
    });
  });

  it("answer a call with INTERNAL when the callee's inbound interceptor has a bug", async () => {
    const buggy: Interceptor = {
      name: 'buggy',
      inbound: () => {
        throw new RangeError('off by one');
      },
    };
    const { hub, leaf } = await pair({}, { interceptors: [buggy] });
    leaf.handle('train', () => 1);
    await expect(hub.call('leaf', 'train', [])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/off by one/),
    });
  });

  it('fail a call with DISCONNECTED when its link is found closed on sending, and with INTERNAL when the link throws a plain error', async () => {
    const hub = new Node({ id: 'hub', heartbeat: false });
    const leaf = new Node({ id: 'leaf', heartbeat: false });
    nodes.push(hub, leaf);
    leaf.handle('train', () => 1);
    const [a, b] = memoryLinkPair({ strict: true });
    let failure: 'closed' | 'bug' | undefined;
    // A link whose close the node has not heard of yet, or whose send is broken.
    const failing: Link = {
      get closed() {
        return a.closed;
      },
      send: (frame: Envelope) => {
        if (failure === 'bug') throw new TypeError('channel.send is not a function');
        if (failure === 'closed') a.close('gone');
        a.send(frame);
      },
      close: (reason) => a.close(reason),
      listen: (handlers) => a.listen({ ...handlers, close: () => undefined }),
    };
    hub.accept(failing);
    await leaf.connect(b);
    failure = 'bug';
    await expect(hub.call('leaf', 'train', [])).rejects.toMatchObject({
      code: 'INTERNAL',
      message: expect.stringMatching(/not a function/),
    });
    failure = 'closed';
    await expect(hub.call('leaf', 'train', [])).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });
});
