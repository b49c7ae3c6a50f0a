import { afterEach, describe, expect, it } from 'vitest';
import { BROADCAST } from '../wire/envelope.js';
import { RemoteError } from '../wire/errors.js';
import { nextEvent, star, type Star } from '../test-support.js';

let net: Star;
// Unset when a test failed before making its network.
afterEach(() => (net as Star | undefined)?.close());

describe('Node events', () => {
  it('delivers a one-way event with its payload and sender', async () => {
    net = await star(1);
    const got = new Promise<[unknown, string]>((resolve) =>
      net.leaves[0]!.on('modelPushed', (payload, from) => resolve([payload, from])),
    );
    net.hub.emit('leaf-0', 'modelPushed', { round: 3, w: new Float32Array([1, 2]) });
    const [payload, from] = await got;
    expect(from).toBe('hub');
    expect(payload).toEqual({ round: 3, w: new Float32Array([1, 2]) });
  });

  it('tells the sender when nobody handles the event, instead of dropping it silently', async () => {
    net = await star(1);
    const failed = nextEvent(net.hub.events, 'EVENT_FAILED');
    net.hub.emit('leaf-0', 'SHUTDOWN', { now: true });
    const [error, event] = await failed;
    expect(error.code).toBe('NO_HANDLER');
    expect(event).toEqual({ target: 'leaf-0', name: 'SHUTDOWN' });
  });

  it('names the mix-up when an event is sent to a method, or a method called that is an event (the seeds SHUTDOWN bug)', async () => {
    net = await star(1);
    net.leaves[0]!.handle('shutdown', () => 'ok');
    net.leaves[0]!.on('stop', () => undefined);
    const failed = nextEvent(net.hub.events, 'EVENT_FAILED');
    net.hub.emit('leaf-0', 'shutdown', null);
    expect((await failed)[0].message).toMatch(/it is a method here: call it instead/);
    await expect(net.hub.call('leaf-0', 'stop', [])).rejects.toMatchObject({
      code: 'METHOD_NOT_FOUND',
      message: expect.stringMatching(/it is an event here/),
    });
  });

  it('resolves an acknowledged push only after the receiver handler has run', async () => {
    net = await star(1);
    const applied: number[] = [];
    net.leaves[0]!.on<{ round: number }>('setModel', async ({ round }) => {
      await new Promise((resolve) => queueMicrotask(() => resolve(undefined)));
      applied.push(round);
    });
    await net.hub.emitWithAck('leaf-0', 'setModel', { round: 7 });
    expect(applied).toEqual([7]);
  });

  it('rejects an acknowledged push with NO_HANDLER or with the handler error', async () => {
    net = await star(1);
    await expect(net.hub.emitWithAck('leaf-0', 'nobody', 1)).rejects.toMatchObject({ code: 'NO_HANDLER' });
    net.leaves[0]!.on('explode', () => {
      throw new Error('boom');
    });
    const error = await net.hub.emitWithAck('leaf-0', 'explode', 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect((error as RemoteError).message).toBe('boom');
  });

  it('reports a one-way handler that throws back to the sender', async () => {
    net = await star(1);
    net.leaves[0]!.on('explode', () => Promise.reject(new Error('async boom')));
    const failed = nextEvent(net.hub.events, 'EVENT_FAILED');
    net.hub.emit('leaf-0', 'explode', null);
    expect((await failed)[0].message).toBe('async boom');
  });

  it('stops delivering to a handler once it is removed', async () => {
    net = await star(1);
    const seen: number[] = [];
    const off = net.leaves[0]!.on<number>('tick', (n) => void seen.push(n));
    await net.hub.emitWithAck('leaf-0', 'tick', 1);
    off();
    await expect(net.hub.emitWithAck('leaf-0', 'tick', 2)).rejects.toMatchObject({ code: 'NO_HANDLER' });
    expect(seen).toEqual([1]);
  });

  it('broadcasts from the hub to every leaf', async () => {
    net = await star(3);
    const got = net.leaves.map((leaf) => new Promise<unknown>((resolve) => leaf.on('round', resolve)));
    net.hub.emit(BROADCAST, 'round', 4);
    expect(await Promise.all(got)).toEqual([4, 4, 4]);
  });

  it('broadcasts from a leaf to the hub and the other leaves (relay all), not back to itself, without NO_HANDLER noise', async () => {
    net = await star(3, { hub: { relay: 'all' } });
    let echoed = false;
    net.leaves[0]!.on('hi', () => void (echoed = true));
    const got = [net.hub, net.leaves[1]!, net.leaves[2]!].map(
      (n) => new Promise<[unknown, string]>((resolve) => n.on('hi', (p, from) => resolve([p, from]))),
    );
    let failures = 0;
    net.leaves[0]!.events.on('EVENT_FAILED', () => failures++);
    net.leaves[0]!.emit(BROADCAST, 'hi', 'x');
    expect(await Promise.all(got)).toEqual([
      ['x', 'leaf-0'],
      ['x', 'leaf-0'],
      ['x', 'leaf-0'],
    ]);
    await net.leaves[0]!.call('hub', 'nothing', []).catch(() => undefined);
    expect(echoed).toBe(false);
    expect(failures).toBe(0);
  });

  it('emits typed events through a proxy', async () => {
    net = await star(1);
    const got = new Promise<unknown>((resolve) => net.leaves[0]!.on('done', resolve));
    const leaf = net.hub.proxy<object, { done: { round: number } }>('leaf-0');
    leaf.$emit('done', { round: 1 });
    expect(await got).toEqual({ round: 1 });
    await expect(leaf.$emitWithAck('done', { round: 2 })).resolves.toBeUndefined();
  });
});
