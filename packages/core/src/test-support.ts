import type { EventEmitter } from 'eventemitter3';
import { PROTOCOL_VERSION, type Envelope, type HelloFrame } from './wire/envelope.js';
import type { Link } from './links/link.js';
import type { Clock } from './wire/clock.js';
import { joinInMemory } from './connect/join-in-memory.js';
import { Node, type NodeOptions } from './rpc/node.js';
import { onceWithTimeout, withTimeout } from './wire/signals.js';

/** The next emission of `event`, or a rejection after `ms`: tests wait on events, bounded. */
export function nextEvent<E extends EventEmitter.ValidEventTypes, K extends EventEmitter.EventNames<E>>(
  emitter: EventEmitter<E>,
  event: K,
  ms = 3_000,
): Promise<EventEmitter.ArgumentMap<Exclude<E, string | symbol>>[Extract<K, keyof E>]> {
  type Args = EventEmitter.ArgumentMap<Exclude<E, string | symbol>>[Extract<K, keyof E>];
  return onceWithTimeout<Args>(ms, `no ${String(event)}`, (settle) => {
    const listener = (...args: unknown[]) => settle.resolve(args as Args);
    emitter.once(event, listener as never);
    return () => emitter.off(event, listener as never);
  });
}

/**
 * `make(id, options)`: a node without heartbeat, closed after each test (`afterEach` is the test
 * runner's, passed in so this file does not pick one).
 */
export function nodeMaker(afterEach: (fn: () => void) => void): (id: string, options?: NodeOptions) => Node {
  const nodes: Node[] = [];
  afterEach(() => nodes.splice(0).forEach((n) => n.close()));
  return (id, options = {}) => {
    const node = new Node({ id, heartbeat: false, ...options });
    nodes.push(node);
    return node;
  };
}

export interface Star {
  hub: Node;
  leaves: Node[];
  close(): void;
}

/** A trainer-like hub with learner-like leaves joined over strict in-memory links. */
export async function star(
  count: number,
  options: { hub?: NodeOptions; leaf?: NodeOptions; strict?: boolean } = {},
): Promise<Star> {
  const hub = new Node({ id: 'hub', role: 'trainer', heartbeat: false, ...options.hub });
  const leaves = Array.from(
    { length: count },
    (_, i) => new Node({ id: `leaf-${i}`, role: 'learner', heartbeat: false, ...options.leaf }),
  );
  await Promise.all(leaves.map((leaf) => joinInMemory(hub, leaf, { strict: options.strict ?? true })));
  return {
    hub,
    leaves,
    close() {
      for (const leaf of leaves) leaf.close();
      hub.close();
    },
  };
}

/**
 * A peer that speaks frames by hand, for feeding a node what a well-behaved node never would.
 * It keeps everything it receives and can wait for a frame or for the close.
 */
export class RawPeer {
  readonly received: Envelope[] = [];
  closeReason: string | undefined;
  readonly #waiters: { test: (f: Envelope) => boolean; resolve: (f: Envelope) => void }[] = [];
  readonly #closed: Promise<string>;

  constructor(readonly link: Link) {
    this.#closed = new Promise((resolve) =>
      link.listen({
        frame: (frame) => {
          this.received.push(frame);
          const i = this.#waiters.findIndex((w) => w.test(frame));
          if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(frame);
        },
        close: (reason) => {
          this.closeReason = reason;
          resolve(reason);
        },
      }),
    );
  }

  send(frame: Envelope): void {
    this.link.send(frame);
  }

  /** The first frame (already received or still to come) that passes `test`. */
  next<K extends Envelope['kind']>(
    kind: K,
    test: (f: Extract<Envelope, { kind: K }>) => boolean = () => true,
    ms = 3_000,
  ): Promise<Extract<Envelope, { kind: K }>> {
    const match = (f: Envelope) => f.kind === kind && test(f as Extract<Envelope, { kind: K }>);
    const seen = this.received.find(match);
    if (seen) return Promise.resolve(seen as Extract<Envelope, { kind: K }>);
    return withTimeout(
      new Promise((resolve) =>
        this.#waiters.push({ test: match, resolve: resolve as (f: Envelope) => void }),
      ),
      ms,
      `no ${kind} frame`,
    );
  }

  closed(ms = 3_000): Promise<string> {
    return withTimeout(this.#closed, ms, 'link not closed');
  }

  hello(src: string, extra: Partial<HelloFrame> = {}): void {
    this.send({
      kind: 'hello',
      version: PROTOCOL_VERSION,
      src,
      role: 'learner',
      capabilities: [],
      metadata: {},
      ...extra,
    });
  }
}

export { withTimeout };

/** A clock that moves only when told: timers armed on it run, in order of their due time, inside `advance`. */
export class ManualClock implements Clock {
  #now = 1_000;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): number {
    const handle = ++this.#seq;
    this.#timers.set(handle, { at: this.#now + Math.max(0, ms), fn });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves the time on by `ms`, running every timer that falls due on the way (and those they arm). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers)
        if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.#timers.delete(next[0]);
      this.#now = Math.max(this.#now, next[1].at);
      next[1].fn();
    }
    this.#now = end;
  }

  /** Moves the time on by `ms` at once, as a paused process does: timers due meanwhile run late, at the new time. */
  sleep(ms: number): void {
    this.#now += ms;
    this.advance(0);
  }

  /** Timers armed and not yet run. */
  get pending(): number {
    return this.#timers.size;
  }
}
