import { afterEach, describe, expect, it } from 'vitest';
import { memoryLinkPair } from '../links/memory-link.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { nextEvent, nodeMaker, RawPeer } from '../test-support.js';

const make = nodeMaker(afterEach);

/** A raw learner that has said hello and been welcomed: it can now send any frame at the hub. */
async function registeredRawPeer(hub: Node, id: string): Promise<RawPeer> {
  const [a, b] = memoryLinkPair({ strict: true });
  hub.accept(a);
  const raw = new RawPeer(b);
  raw.hello(id);
  await raw.next('welcome');
  return raw;
}

describe('a node against hostile peers', () => {
  it("ignores results and errors that answer another node's requests, and counts them", async () => {
    const hub = make('hub');
    const honest = make('honest');
    let release: (value: string) => void = () => undefined;
    honest.handle('train', () => new Promise<string>((resolve) => (release = resolve)));
    await joinInMemory(hub, honest, { strict: true });
    const raw = await registeredRawPeer(hub, 'mallory');
    const training = hub.call('honest', 'train', [], { timeout: 10_000 });
    for (let id = 1; id <= 50; id++) {
      raw.send({ kind: 'result', id, src: 'mallory', dst: 'hub', value: 'forged' });
      raw.send({
        kind: 'error',
        id,
        src: 'mallory',
        dst: 'hub',
        error: { name: 'Error', message: 'forged' },
      });
      raw.send({ kind: 'ack', id, src: 'mallory', dst: 'hub' });
    }
    // Even claiming to be the node asked: its frames are its own link's, and the request went out on another.
    raw.send({ kind: 'result', id: 1, src: 'honest', dst: 'hub', value: 'spoofed' });
    expect(await raw.closed()).toMatch(/BAD_FRAME: mallory sent a frame claiming to be from "honest"/);
    release('honest result');
    expect(await training).toBe('honest result');
    expect(hub.stats.strayAnswers).toBe(150);
  });

  it('does not relay answers that no relayed request asked for, nor cancels of calls it never relayed', async () => {
    const hub = make('hub', { relay: 'all' });
    const honest = make('honest');
    let release: (value: string) => void = () => undefined;
    honest.handle('work', () => new Promise<string>((resolve) => (release = resolve)));
    await joinInMemory(hub, honest, { strict: true });
    const other = make('other');
    await joinInMemory(hub, other, { strict: true });
    const relayed = other.call('honest', 'work', [], { timeout: 10_000 });
    const raw = await registeredRawPeer(hub, 'mallory');
    // Forged answers for other's relayed call, and a cancel of it, from a third learner.
    for (let id = 0; id < 20; id++) {
      raw.send({ kind: 'result', id, src: 'mallory', dst: 'other', value: 'forged' });
      raw.send({ kind: 'cancel', id, src: 'mallory', dst: 'honest' });
    }
    raw.send({ kind: 'call', id: 99, src: 'mallory', dst: 'hub', method: 'nothing', args: [] });
    await raw.next('error', (f) => f.id === 99);
    release('done');
    expect(await relayed).toBe('done');
    expect(hub.stats.strayAnswers).toBe(20);
  });

  it('closes only the link whose frame made the node throw (INTERNAL, 1011), and keeps serving the others', async () => {
    const hub = make('hub');
    hub.handle('ping', () => 'pong');
    const honest = make('honest');
    await joinInMemory(hub, honest, { strict: true });
    // A bug on our side, reached by one peer's hello: the node must contain it to that link.
    hub.events.on('CLIENT_REGISTERED', (client) => {
      if (client.id === 'trigger') throw new TypeError('listener bug');
    });
    const [a, b] = memoryLinkPair({ strict: true });
    hub.accept(a);
    const raw = new RawPeer(b);
    const linkError = nextEvent(hub.events, 'LINK_ERROR');
    raw.hello('trigger');
    expect(await raw.closed()).toMatch(/^INTERNAL: handling a frame failed: listener bug/);
    expect((await linkError)[0].code).toBe('INTERNAL');
    expect(await honest.call('hub', 'ping', [])).toBe('pong');
  });

  it('keeps a LINK_ERROR listener that throws from taking the node down', async () => {
    const hub = make('hub');
    hub.handle('ping', () => 'pong');
    const honest = make('honest');
    await joinInMemory(hub, honest, { strict: true });
    hub.events.on('LINK_ERROR', () => {
      throw new Error('listener bug');
    });
    const [a, b] = memoryLinkPair({ strict: true });
    hub.accept(a);
    const raw = new RawPeer(b);
    raw.send({ kind: 'welcome', version: 2, src: 'x', dst: 'hub', role: 'trainer' });
    expect(await raw.closed()).toMatch(/BAD_FRAME: unexpected welcome/);
    expect(await honest.call('hub', 'ping', [])).toBe('pong');
  });
});
