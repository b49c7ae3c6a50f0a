import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../wire/envelope.js';
import { Heartbeat, type Watched } from './heartbeat.js';
import type { Link, LinkHandlers } from '../links/link.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { Node } from '../rpc/node.js';
import { nextEvent } from '../test-support.js';

interface Peer extends Watched {
  name: string;
}

function manual(interval = 100, timeout = 300) {
  let now = 1_000;
  const pings: string[] = [];
  const dead: string[] = [];
  const beat = new Heartbeat<Peer>({ interval, timeout }, { ping: (p) => pings.push(p.name), dead: (p) => dead.push(p.name) }, () => now);
  return { beat, pings, dead, advance: (ms: number) => (now += ms), now: () => now };
}

describe('Heartbeat', () => {
  it('pings every watched peer on each tick and declares dead one silent past the timeout', () => {
    const h = manual();
    const a: Peer = { name: 'a', lastSeen: 0 };
    const b: Peer = { name: 'b', lastSeen: 0 };
    h.beat.watch(a);
    h.beat.watch(b);
    for (let i = 0; i < 4; i++) {
      h.advance(100);
      a.lastSeen = h.now(); // a keeps talking; b is silent
      h.beat.tick();
    }
    expect(h.dead).toEqual(['b']);
    expect(h.pings.filter((p) => p === 'a')).toHaveLength(4);
    h.beat.stop();
  });

  it('does not hold against a peer the time this side slept (a throttled timer)', () => {
    const h = manual();
    const a: Peer = { name: 'a', lastSeen: 0 };
    h.beat.watch(a);
    h.advance(100);
    h.beat.tick();
    h.advance(5_000); // the process was paused: one tick, very late
    h.beat.tick();
    expect(h.dead).toEqual([]);
    h.advance(100);
    h.beat.tick();
    h.advance(100);
    h.beat.tick();
    h.advance(100);
    h.beat.tick(); // now really silent past the timeout
    expect(h.dead).toEqual(['a']);
  });

  it('refuses an interval that is not below the timeout', () => {
    expect(() => new Heartbeat({ interval: 100, timeout: 100 }, { ping: () => undefined, dead: () => undefined })).toThrow(RangeError);
  });
});

/** A link that can go deaf: frames still leave, nothing arrives, and no close event fires. */
function deafenable(link: Link): Link & { deaf: boolean } {
  const wrapper = {
    deaf: false,
    get closed() {
      return link.closed;
    },
    send: (frame: Envelope) => link.send(frame),
    close: (reason?: string) => link.close(reason),
    listen: (handlers: LinkHandlers) =>
      link.listen({ ...handlers, frame: (frame) => (wrapper.deaf ? undefined : handlers.frame(frame)) }),
  };
  return wrapper;
}

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

describe('Node liveness', () => {
  it('marks a silent client TIMEOUT, fires CLIENT_DISCONNECTED and rejects its pending calls long before their timeout', async () => {
    const heartbeat = { interval: 20, timeout: 80 };
    const hub = new Node({ id: 'hub', heartbeat });
    const leaf = new Node({ id: 'leaf', heartbeat });
    nodes.push(hub, leaf);
    leaf.handle('hang', () => new Promise(() => undefined));
    const [a, b] = memoryLinkPair({ strict: true });
    const hubSide = deafenable(a);
    hub.accept(hubSide);
    await leaf.connect(b);
    const pending = hub.call('leaf', 'hang', [], { timeout: 60_000 });
    const started = Date.now();
    hubSide.deaf = true;
    const [client] = await nextEvent(hub.events, 'CLIENT_DISCONNECTED');
    expect(client).toMatchObject({ id: 'leaf', state: 'timeout', reason: expect.stringMatching(/heartbeat timeout/) });
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('keeps a quiet but live link alive: pongs count as liveness', async () => {
    const heartbeat = { interval: 10, timeout: 40 };
    const hub = new Node({ id: 'hub', heartbeat });
    const leaf = new Node({ id: 'leaf', heartbeat });
    nodes.push(hub, leaf);
    const [a, b] = memoryLinkPair();
    let pongs = 0;
    let onTenth: () => void = () => undefined;
    const tenPongs = new Promise<void>((resolve) => (onTenth = resolve));
    const counting: Link = {
      get closed() {
        return a.closed;
      },
      send: (frame) => a.send(frame),
      close: (reason) => a.close(reason),
      listen: (handlers) => a.listen({ ...handlers, frame: (f) => (f.kind === 'pong' && ++pongs === 10 && onTenth(), handlers.frame(f)) }),
    };
    hub.accept(counting);
    await leaf.connect(b);
    let disconnected = false;
    hub.events.on('CLIENT_DISCONNECTED', () => (disconnected = true));
    await tenPongs; // ten pings answered span 100 ms: more than twice the timeout
    expect(disconnected).toBe(false);
    expect(hub.registry.get('leaf')?.state).toBe('connected');
    expect(hub.rtt('leaf')).toBeGreaterThanOrEqual(0);
  });
});
