import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../wire/envelope.js';
import { Heartbeat, type Watched } from './heartbeat.js';
import type { Link, LinkHandlers } from '../links/link.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { Node } from '../rpc/node.js';
import { ManualClock, nextEvent, withTimeout } from '../test-support.js';

interface Peer extends Watched {
  name: string;
}

function manual(interval = 100, timeout = 300) {
  const clock = new ManualClock();
  const pings: string[] = [];
  const dead: string[] = [];
  const beat = new Heartbeat<Peer>(
    { interval, timeout },
    { ping: (p) => pings.push(p.name), dead: (p) => dead.push(p.name) },
    clock,
  );
  return { beat, pings, dead, clock };
}

describe('Heartbeat', () => {
  it('pings every watched peer on each tick and declares dead one silent past the timeout', () => {
    const h = manual();
    const a: Peer = { name: 'a', lastSeen: 0 };
    const b: Peer = { name: 'b', lastSeen: 0 };
    h.beat.watch(a);
    h.beat.watch(b);
    for (let i = 0; i < 4; i++) {
      a.heard = true; // a keeps talking; b is silent
      h.clock.advance(100);
    }
    expect(h.dead).toEqual(['b']);
    expect(h.pings.filter((p) => p === 'a')).toHaveLength(4);
    h.beat.stop();
  });

  it('does not hold against a peer the time this side slept (a throttled timer)', () => {
    const h = manual();
    const a: Peer = { name: 'a', lastSeen: 0 };
    h.beat.watch(a);
    h.clock.advance(100);
    h.clock.sleep(5_000); // the process was paused: the next tick comes once, very late
    expect(h.dead).toEqual([]);
    h.clock.advance(300); // now really silent past the timeout
    expect(h.dead).toEqual(['a']);
  });

  it('stops its timer when nothing is watched, and starts it again with the next watch', () => {
    const h = manual();
    const a: Peer = { name: 'a', lastSeen: 0 };
    h.beat.watch(a);
    h.beat.unwatch(a);
    expect(h.clock.pending).toBe(0);
    h.beat.watch(a);
    h.clock.advance(100);
    expect(h.pings).toEqual(['a']);
    h.beat.stop();
    expect(h.clock.pending).toBe(0);
  });

  it('refuses an interval that is not below the timeout', () => {
    expect(
      () => new Heartbeat({ interval: 100, timeout: 100 }, { ping: () => undefined, dead: () => undefined }),
    ).toThrow(RangeError);
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
    const clock = new ManualClock();
    const hub = new Node({ id: 'hub', heartbeat: { interval: 20, timeout: 80 }, clock });
    // The leaf's own clock never moves: only the hub's watch is under test.
    const leaf = new Node({ id: 'leaf', heartbeat: { interval: 20, timeout: 80 }, clock: new ManualClock() });
    nodes.push(hub, leaf);
    leaf.handle('hang', () => new Promise(() => undefined));
    const [a, b] = memoryLinkPair({ strict: true });
    const hubSide = deafenable(a);
    hub.accept(hubSide);
    await leaf.connect(b);
    const pending = hub.call('leaf', 'hang', [], { timeout: 60_000 });
    hubSide.deaf = true;
    const disconnected = nextEvent(hub.events, 'CLIENT_DISCONNECTED');
    clock.advance(200); // well past the 80 ms timeout, far short of the call's 60 s
    const [client] = await disconnected;
    expect(client).toMatchObject({
      id: 'leaf',
      state: 'timeout',
      reason: expect.stringMatching(/heartbeat timeout/),
    });
    await expect(pending).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('keeps a quiet but live link alive: pongs count as liveness', async () => {
    const clock = new ManualClock();
    const hub = new Node({ id: 'hub', heartbeat: { interval: 10, timeout: 40 }, clock });
    const leaf = new Node({ id: 'leaf', heartbeat: { interval: 10, timeout: 40 }, clock: new ManualClock() });
    nodes.push(hub, leaf);
    const [a, b] = memoryLinkPair();
    let onPong: () => void = () => undefined;
    const counting: Link = {
      get closed() {
        return a.closed;
      },
      send: (frame) => a.send(frame),
      close: (reason) => a.close(reason),
      listen: (handlers) =>
        a.listen({
          ...handlers,
          frame: (f) => {
            handlers.frame(f);
            if (f.kind === 'pong') onPong();
          },
        }),
    };
    hub.accept(counting);
    await leaf.connect(b);
    let disconnected = false;
    hub.events.on('CLIENT_DISCONNECTED', () => (disconnected = true));
    for (let i = 0; i < 10; i++) {
      const pong = withTimeout(new Promise<void>((resolve) => (onPong = resolve)), 3_000, `pong ${i}`);
      clock.advance(10); // one tick: one ping
      await pong;
    }
    // Ten pings answered span 100 ms of the hub's clock: more than twice the timeout.
    expect(clock.now() - 1_000).toBe(100);
    expect(disconnected).toBe(false);
    expect(hub.registry.get('leaf')?.state).toBe('connected');
    expect(hub.rtt('leaf')).toBe(0); // the manual clock stood still between ping and pong
  });
});
