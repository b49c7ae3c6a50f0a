import { afterEach, describe, expect, it } from 'vitest';
import { currentCall } from '../rpc/call-context.js';
import { Router } from './router.js';
import { BROADCAST } from '../wire/envelope.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { star, type Star } from '../test-support.js';

let net: Star;
// Unset when a test failed before making its network.
afterEach(() => (net as Star | undefined)?.close());

describe('Router', () => {
  it('prefers a direct route, falls back to the upstream, and refuses itself and unknown ids', () => {
    const router = new Router<string>('me');
    expect(() => router.linkFor('x')).toThrow(expect.objectContaining({ code: 'UNKNOWN_TARGET' }));
    router.add('a', 'link-a');
    router.upstream = 'link-up';
    expect(router.linkFor('a')).toBe('link-a');
    expect(router.linkFor('elsewhere')).toBe('link-up');
    expect(() => router.linkFor('me')).toThrow(/itself/);
    expect(router.remove('a', 'other-link')).toBe(false);
    expect(router.remove('a', 'link-a')).toBe(true);
    expect(router.peers()).toEqual([]);
  });

  it('relays a call between two learners through the trainer when its policy allows it', async () => {
    net = await star(2, { hub: { relay: 'same-role' } });
    net.leaves[1]!.handle('whoCalls', () => currentCall().caller);
    expect(await net.leaves[0]!.call('leaf-1', 'whoCalls', [])).toBe('leaf-0');
  });

  it('relays events between learners, acknowledged ones included', async () => {
    net = await star(2, { hub: { relay: 'all' } });
    const got = new Promise<[unknown, string]>((resolve) =>
      net.leaves[1]!.on('gossip', (p, from) => resolve([p, from])),
    );
    await net.leaves[0]!.emitWithAck('leaf-1', 'gossip', 42);
    expect(await got).toEqual([42, 'leaf-0']);
  });

  it('answers a relayed call to an unknown id with UNKNOWN_TARGET from the relay', async () => {
    net = await star(1);
    await expect(net.leaves[0]!.call('ghost', 'x', [])).rejects.toMatchObject({
      code: 'UNKNOWN_TARGET',
      message: expect.stringMatching(/hub has no route to "ghost"/),
    });
  });

  it('rejects a relayed call with DISCONNECTED when its target drops mid-call', async () => {
    net = await star(2, { hub: { relay: 'all' } });
    net.leaves[1]!.handle('hang', () => new Promise(() => undefined));
    const pending = net.leaves[0]!.call('leaf-1', 'hang', [], { timeout: 60_000 });
    await net.leaves[0]!.call('leaf-1', 'nothing', []).catch(() => undefined);
    net.leaves[1]!.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('lets a learner reach only the trainer by default: calls, events and broadcasts to another learner never arrive', async () => {
    net = await star(2);
    const reached: string[] = [];
    for (const name of ['getWeights', 'setWeights', 'train'])
      net.leaves[1]!.handle(name, () => void reached.push(name));
    net.leaves[1]!.on('gossip', () => void reached.push('gossip'));
    const hubHeard = new Promise<unknown>((resolve) => net.hub.on('gossip', resolve));
    for (const name of ['getWeights', 'setWeights', 'train']) {
      await expect(net.leaves[0]!.call('leaf-1', name, [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    }
    await expect(net.leaves[0]!.emitWithAck('leaf-1', 'gossip', 1)).rejects.toMatchObject({
      code: 'UNKNOWN_TARGET',
    });
    // Told the same as for an id that does not exist: a learner learns nothing of the others.
    await expect(net.leaves[0]!.call('ghost', 'x', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    const told = new Promise<string>((resolve) =>
      net.leaves[0]!.events.on('EVENT_FAILED', (error) => resolve(error.code)),
    );
    net.leaves[0]!.emit('leaf-1', 'gossip', 2);
    net.leaves[0]!.emit(BROADCAST, 'gossip', 3);
    expect(await hubHeard).toBe(3);
    expect(await told).toBe('UNKNOWN_TARGET');
    // A round trip after them: anything relayed would have arrived before its answer.
    await net.hub.call('leaf-1', 'train', []);
    expect(reached).toEqual(['train']);
    expect(net.hub.stats.refusedRelays).toBeGreaterThanOrEqual(6);
  });

  it('relays between learners of the same role only, under same-role', async () => {
    const hub = new Node({ id: 'hub', role: 'trainer', heartbeat: false, relay: 'same-role' });
    const a = new Node({ id: 'a', role: 'learner', heartbeat: false });
    const b = new Node({ id: 'b', role: 'learner', heartbeat: false });
    const admin = new Node({ id: 'admin', role: 'admin', heartbeat: false });
    try {
      for (const n of [a, b, admin]) await joinInMemory(hub, n, { strict: true });
      for (const n of [b, admin]) n.handle('who', () => n.id);
      expect(await a.call('b', 'who', [])).toBe('b');
      await expect(a.call('admin', 'who', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
      await expect(admin.call('b', 'who', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
    } finally {
      for (const n of [a, b, admin, hub]) n.close();
    }
  });

  it('asks a policy function about each relayed frame, with both ends and the kind', async () => {
    const asked: string[] = [];
    net = await star(2, {
      hub: { relay: (from, to, kind) => (asked.push(`${from.id}>${to.id}:${kind}`), kind === 'call') },
    });
    net.leaves[1]!.handle('x', () => 1);
    net.leaves[1]!.on('e', () => undefined);
    expect(await net.leaves[0]!.call('leaf-1', 'x', [])).toBe(1);
    await expect(net.leaves[0]!.emitWithAck('leaf-1', 'e', 0)).rejects.toMatchObject({
      code: 'UNKNOWN_TARGET',
    });
    expect(asked).toEqual(['leaf-0>leaf-1:call', 'leaf-0>leaf-1:event']);
  });
});
