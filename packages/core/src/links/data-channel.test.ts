import { describe, expect, it } from 'vitest';
import { acceptPeerConnections, type DataConnectionLike, type PeerLike } from './data-channel.js';
import type { Link } from './link.js';
import { withTimeout } from '../test-support.js';

/** A data channel offered to us, as PeerJS hands it over; the test decides whether it opens. */
class OfferedConnection implements DataConnectionLike {
  readonly peer = 'stranger';
  open = false;
  readonly #listeners = new Map<string, ((arg?: unknown) => void)[]>();
  closes = 0;
  readonly closed: Promise<void>;
  #closed: () => void = () => undefined;
  constructor() {
    this.closed = new Promise((resolve) => (this.#closed = resolve));
  }
  on(event: 'data', listener: (data: unknown) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: { message?: string }) => void): void;
  on(event: string, listener: (arg: never) => void): void {
    this.#listeners.set(event, [...(this.#listeners.get(event) ?? []), listener as (arg?: unknown) => void]);
  }
  send(): void {
    // Nothing crosses: these tests are about opening and closing.
  }
  close(): void {
    this.closes += 1;
    // Like PeerJS: 'close' only for a connection that had opened.
    if (this.open) {
      this.open = false;
      this.#emit('close');
    }
    this.#closed();
  }
  opens(): void {
    this.open = true;
    this.#emit('open');
  }
  #emit(event: string): void {
    for (const listener of this.#listeners.get(event) ?? []) listener();
  }
}

function offeringPeer() {
  let offer: (connection: DataConnectionLike) => void = () => undefined;
  const peer = {
    on: (event: string, listener: (c: DataConnectionLike) => void) =>
      event === 'connection' && (offer = listener),
  } as unknown as PeerLike;
  return { peer, offer: (connection: OfferedConnection) => offer(connection) };
}

describe('acceptPeerConnections', () => {
  it('closes an offered data channel that does not open within openTimeout, and counts it no more', async () => {
    const { peer, offer } = offeringPeer();
    const accepted: Link[] = [];
    acceptPeerConnections(peer, (link) => accepted.push(link), { openTimeout: 50, maxConnections: 1 });
    const silent = new OfferedConnection();
    offer(silent);
    await withTimeout(silent.closed, 2_000, 'not closed after openTimeout');
    expect(accepted).toEqual([]);
    const next = new OfferedConnection();
    offer(next);
    next.opens();
    expect(accepted).toHaveLength(1);
    expect(next.closes).toBe(0);
  });

  it('closes data channels offered beyond maxConnections at once, and takes new ones as others close', () => {
    const { peer, offer } = offeringPeer();
    const accepted: Link[] = [];
    acceptPeerConnections(peer, (link) => accepted.push(link), { maxConnections: 2, openTimeout: 5_000 });
    const [a, b, c, d] = [
      new OfferedConnection(),
      new OfferedConnection(),
      new OfferedConnection(),
      new OfferedConnection(),
    ];
    offer(a);
    a.opens();
    offer(b); // still opening: it counts too
    offer(c);
    expect(c.closes).toBe(1);
    expect([a.closes, b.closes]).toEqual([0, 0]);
    accepted[0]!.close(); // the link closes its channel: PeerJS says 'close'
    offer(d);
    expect(d.closes).toBe(0);
    d.opens();
    expect(accepted).toHaveLength(2);
  });
});
