import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../wire/envelope.js';
import { withTimeout } from '../test-support.js';
import type { Link } from './link.js';

/** One kind of link: `pair()` makes two connected ends; `release()` frees what the pair needed (a server). */
export interface LinkKind {
  name: string;
  pair(): Promise<[Link, Link] & { release?: () => unknown }>;
}

/** Everything one end heard, and a wait for the close. */
function listenTo(link: Link) {
  const frames: Envelope[] = [];
  const closes: string[] = [];
  let waiter: { count: number; resolve: () => void } | undefined;
  let closed: () => void = () => undefined;
  const closedOnce = new Promise<void>((resolve) => (closed = resolve));
  link.listen({
    frame: (frame) => {
      frames.push(frame);
      if (waiter && frames.length >= waiter.count) waiter.resolve();
    },
    close: (reason) => {
      closes.push(reason);
      closed();
    },
  });
  return {
    frames,
    closes,
    /** Resolves once `count` frames have arrived (bounded). */
    received: (count: number) =>
      withTimeout(
        frames.length >= count
          ? Promise.resolve()
          : new Promise<void>((resolve) => (waiter = { count, resolve })),
        10_000,
        `${count} frames`,
      ),
    closed: () => withTimeout(closedOnce, 5_000, 'close'),
  };
}

const event = (id: number, payload: unknown): Envelope => ({
  kind: 'event',
  id,
  src: 'a',
  dst: 'b',
  name: 'e',
  payload,
});

/**
 * The contract every link keeps (link.ts): frames arrive whole and in order, those sent before the
 * far end listens wait for it, a large payload crosses intact and paced, the close is heard once on
 * each end, and a closed link refuses to send. One suite, run over every kind of link.
 */
export function linkContract(kinds: readonly LinkKind[]): void {
  for (const kind of kinds) {
    describe(`link contract: ${kind.name}`, () => {
      let release: (() => unknown) | undefined;
      afterEach(async () => {
        await release?.();
        release = undefined;
      });
      /** A pair past its handshake, as a node leaves it (until then a link holds only a hello's worth). */
      const open = async () => {
        const pair = await kind.pair();
        release = pair.release;
        for (const end of pair) end.established?.();
        return pair;
      };

      it('delivers frames in the order they were sent', async () => {
        const [a, b] = await open();
        const heard = listenTo(b);
        listenTo(a);
        for (let i = 1; i <= 500; i++) a.send(event(i, i));
        await heard.received(500);
        expect(heard.frames.map((f) => (f as { id: number }).id)).toEqual(
          Array.from({ length: 500 }, (_, i) => i + 1),
        );
        a.close('done');
      });

      it('keeps frames sent before the far end listens, and delivers them once it does', async () => {
        const [a, b] = await open();
        listenTo(a);
        a.send(event(1, 'early'));
        a.send(event(2, 'early too'));
        const heard = listenTo(b);
        await heard.received(2);
        expect(heard.frames.map((f) => (f as { payload: unknown }).payload)).toEqual(['early', 'early too']);
        a.close('done');
      });

      it('carries large typed arrays intact, many in a row (paced by the channel where it has a buffer)', async () => {
        const [a, b] = await open();
        const heard = listenTo(b);
        listenTo(a);
        const model = new Float32Array(2 * 1024 * 1024).map((_, i) => i % 1000);
        for (let i = 1; i <= 8; i++) a.send(event(i, { round: i, model }));
        await heard.received(8);
        for (const [i, frame] of heard.frames.entries()) {
          const payload = (frame as { payload: { round: number; model: Float32Array } }).payload;
          expect(payload.round).toBe(i + 1);
          expect(payload.model).toBeInstanceOf(Float32Array);
          expect(payload.model.length).toBe(model.length);
          expect(payload.model[123_456]).toBe(model[123_456]);
          expect(payload.model[model.length - 1]).toBe(model[model.length - 1]);
        }
        a.close('done');
      });

      it('reports the close once on each end, and a closed end refuses to send', async () => {
        const [a, b] = await open();
        const near = listenTo(a);
        const far = listenTo(b);
        a.close('finished');
        await Promise.all([near.closed(), far.closed()]);
        a.close('again');
        b.close('and again');
        expect(near.closes).toHaveLength(1);
        expect(far.closes).toHaveLength(1);
        expect(a.closed).toBe(true);
        expect(() => a.send(event(1, 'late'))).toThrow(expect.objectContaining({ code: 'DISCONNECTED' }));
      });
    });
  }
}
