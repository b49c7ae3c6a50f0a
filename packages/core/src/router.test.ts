import { afterEach, describe, expect, it } from 'vitest';
import { currentCall } from './call-context.js';
import { Router } from './router.js';
import { star, type Star } from './test-support.js';

let net: Star;
afterEach(() => net?.close());

describe('Router', () => {
  it('prefers a direct route, falls back to the upstream, and refuses itself and unknown ids', () => {
    const router = new Router<string>('me');
    expect(() => router.linkFor('x')).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TARGET' }));
    router.add('a', 'link-a');
    router.upstream = 'link-up';
    expect(router.linkFor('a')).toBe('link-a');
    expect(router.linkFor('elsewhere')).toBe('link-up');
    expect(() => router.linkFor('me')).toThrowError(/itself/);
    expect(router.remove('a', 'other-link')).toBe(false);
    expect(router.remove('a', 'link-a')).toBe(true);
    expect(router.peers()).toEqual([]);
  });

  it('relays a call between two learners through the trainer (the star)', async () => {
    net = await star(2);
    net.leaves[1]!.handle('whoCalls', () => currentCall().caller);
    expect(await net.leaves[0]!.call('leaf-1', 'whoCalls', [])).toBe('leaf-0');
  });

  it('relays events between learners, acknowledged ones included', async () => {
    net = await star(2);
    const got = new Promise<[unknown, string]>((resolve) => net.leaves[1]!.on('gossip', (p, from) => resolve([p, from])));
    await net.leaves[0]!.emitWithAck('leaf-1', 'gossip', 42);
    expect(await got).toEqual([42, 'leaf-0']);
  });

  it('answers a relayed call to an unknown id with UNKNOWN_TARGET from the relay', async () => {
    net = await star(1);
    await expect(net.leaves[0]!.call('ghost', 'x', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET', message: expect.stringMatching(/hub has no route to "ghost"/) });
  });

  it('rejects a relayed call with DISCONNECTED when its target drops mid-call', async () => {
    net = await star(2);
    net.leaves[1]!.handle('hang', () => new Promise(() => undefined));
    const pending = net.leaves[0]!.call('leaf-1', 'hang', [], { timeout: 60_000 });
    await net.leaves[0]!.call('leaf-1', 'nothing', []).catch(() => undefined);
    net.leaves[1]!.close();
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('does not relay when relaying is off', async () => {
    net = await star(2, { hub: { relay: false } });
    net.leaves[1]!.handle('x', () => 1);
    await expect(net.leaves[0]!.call('leaf-1', 'x', [])).rejects.toMatchObject({ code: 'UNKNOWN_TARGET' });
  });
});
