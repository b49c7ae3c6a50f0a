import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { FramedLink } from '../links/framed-link.js';
import { MemoryPort } from '../links/memory-channel.js';
import { Codec } from './codec.js';
import type { CallFrame, Envelope } from './envelope.js';
import { SharedBytes } from './shared-bytes.js';
import { anyShared, isShared, shareValue, sharedValueStats } from './shared-values.js';

const call = (id: number, args: unknown[]): CallFrame => ({
  kind: 'call',
  id,
  src: 'trainer',
  dst: 'learner',
  method: 'train',
  args,
});

/** Where `part` occurs in `whole`, or -1. */
function indexOf(whole: Uint8Array, part: Uint8Array): number {
  outer: for (let at = 0; at + part.length <= whole.length; at++) {
    for (let i = 0; i < part.length; i++) if (whole[at + i] !== part[i]) continue outer;
    return at;
  }
  return -1;
}

/** Bytes as MessagePack writes them, extensions and all, without the codec's checks (what a peer may send). */
const pack = (value: unknown) => new Uint8Array(new Packr({ moreTypes: true }).pack(value) as Uint8Array);

const sameBytes = (a: ArrayBufferView, b: ArrayBufferView) =>
  indexOf(
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  ) === 0 && a.byteLength === b.byteLength;

const releases: (() => void)[] = [];
const share = (value: object) => {
  const release = shareValue(value);
  releases.push(release);
  return release;
};
afterEach(() => {
  for (const release of releases.splice(0)) release();
});

describe('a shared value on the wire', () => {
  it('is encoded once for every frame that holds it, and those frames carry the same bytes', () => {
    const codec = new Codec();
    const weights = {
      w: { shape: [3], data: new Float32Array([1, 2, 3]) },
      b: { shape: [1], data: new Float32Array([4]) },
    };
    share(weights);
    const before = sharedValueStats.encodes;
    const frames = Array.from({ length: 20 }, (_, i) =>
      codec.encode(call(i + 1, [{ round: 1, weights, config: { lr: 0.1 } }])),
    );
    expect(sharedValueStats.encodes - before).toBe(1);
    // The bytes of the value, encoded alone by a codec like this one, appear whole in every frame.
    const own = new Codec().encodeValue(weights);
    for (const frame of frames) expect(indexOf(frame, own)).toBeGreaterThan(0);
    for (const [i, frame] of frames.entries()) {
      expect(codec.decode(frame)).toMatchObject({
        kind: 'call',
        id: i + 1,
        args: [{ round: 1, weights, config: { lr: 0.1 } }],
      });
    }
  });

  it('decodes beside objects whose record layouts it reuses, before and after it', () => {
    const codec = new Codec();
    // Encoded alone, the shared value defines its own record layouts: inside the frame they must not
    // change how the objects around it, of other shapes and of the same shapes, decode.
    const shared = { shape: [2], data: new Float32Array([5, 6]), extra: { x: 1, y: 2 } };
    share(shared);
    const args = [
      { x: 0, y: 1 },
      { shape: 'not', data: 'it' },
      shared,
      { x: 3, y: 4 },
      { shape: 1, data: 2 },
      shared,
    ];
    const frame = codec.decode(codec.encode(call(7, args))) as CallFrame;
    expect(frame.args).toEqual(args);
  });

  it('is encoded afresh once released: later frames carry what it holds then', () => {
    const codec = new Codec();
    const weights = { w: new Float32Array([1]) };
    const release = share(weights);
    codec.encode(call(1, [weights]));
    release();
    expect(isShared(weights)).toBe(false);
    weights.w[0] = 9;
    const frame = codec.decode(codec.encode(call(2, [weights]))) as CallFrame;
    expect(frame.args).toEqual([{ w: new Float32Array([9]) }]);
  });

  it('stays shared until every hold on it is released', () => {
    const value = { a: 1 };
    const first = share(value);
    const second = share(value);
    first();
    first();
    expect(isShared(value)).toBe(true);
    second();
    expect(isShared(value)).toBe(false);
    expect(anyShared()).toBe(false);
  });

  it('refuses a shared value nested in another as BAD_FRAME, and the codec keeps decoding', () => {
    const codec = new Codec();
    const innermost = new Codec().encodeValue({ a: 1 });
    const nested = pack([0, 1, 'train', [new SharedBytes(pack(new SharedBytes(innermost)))]]);
    expect(() => codec.decode(nested)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    const garbage = pack([0, 1, 'train', [new SharedBytes(new Uint8Array([0xc1, 0xff]))]]);
    expect(() => codec.decode(garbage)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
    expect(codec.decode(codec.encode(call(3, [1])))).toMatchObject({ id: 3, args: [1] });
  });

  it('refuses, as BAD_FRAME, a shared value that redefines a frame layout', () => {
    const codec = new Codec();
    // Record definition 0x72 of slot 0x40 (the call layout), inside the shared value's message.
    const redefinition = new Uint8Array([0xd4, 0x72, 0x40, 0x91, 0xa1, 0x78, 0x01]);
    const frame = pack([0, 1, 'train', [new SharedBytes(redefinition)]]);
    expect(() => codec.decode(frame)).toThrow(expect.objectContaining({ code: 'BAD_FRAME' }));
  });

  // msgpackr decodes an extension's message re-entrantly, copying the whole frame first: 350,000
  // shared values in one 1 MiB frame took minutes of one core (measured: 3.3 s for 64,000 in 192 KB).
  it('refuses a 1 MiB frame of 350,000 shared values as BAD_FRAME at once, and decodes 64 in one pass', () => {
    const codec = new Codec({ maxFrameBytes: 2 * 1024 * 1024 });
    const one = new SharedBytes(new Uint8Array([0xc0])); // a shared nil, 3 bytes on the wire
    const many = (count: number, id: number) =>
      pack([0, id, 'train', [Array.from({ length: count }, () => one)]]);
    const flood = many(350_000, 1);
    expect(flood.byteLength).toBeGreaterThan(1_000_000);
    const t0 = performance.now();
    expect(() => codec.decode(flood)).toThrow(
      expect.objectContaining({
        code: 'BAD_FRAME',
        message: expect.stringMatching(/more than 64 shared values/),
      }),
    );
    // Milliseconds here; the re-entrant decode was past a minute. 10 s leaves a loaded machine room.
    expect(performance.now() - t0).toBeLessThan(10_000);
    const decoded = codec.decode(many(64, 2)) as CallFrame;
    expect(decoded.args[0]).toEqual(Array.from({ length: 64 }, () => null));
    expect(codec.decode(codec.encode(call(3, [1])))).toMatchObject({ id: 3, args: [1] });
  });

  it('refuses, as BAD_FRAME, a shared value where no encoder puts one: in a Map, a Set, or deeper than it looks', () => {
    const codec = new Codec();
    const one = new SharedBytes(new Codec().encodeValue({ a: 1 }));
    const deep = [[[[[[[[[[one]]]]]]]]]];
    for (const where of [new Map([['m', one]]), new Set([one]), deep]) {
      expect(() => codec.decode(pack([0, 2, 'train', [where]]))).toThrow(
        expect.objectContaining({ code: 'BAD_FRAME' }),
      );
    }
    // Where the encoder looks, it is the value it stands for.
    const honest = new Codec().encodeValue([0, 4, 'train', [{ weights: one }, [one]]]);
    expect(codec.decode(honest)).toMatchObject({
      args: [{ weights: { a: 1 } }, [{ a: 1 }]],
    });
  });
});

/** N framed links from one trainer end, each with a peer end that collects the frames it reads. */
function links(
  count: number,
  codec: Codec,
): { out: FramedLink[]; received: Envelope[][]; wire: Uint8Array[][]; arrived: Promise<void> } {
  const out: FramedLink[] = [];
  const received: Envelope[][] = [];
  const wire: Uint8Array[][] = [];
  const firstFrames: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const [a, b] = MemoryPort.pair<Uint8Array>(true);
    const frames: Envelope[] = [];
    const sender = new FramedLink(a, { codec });
    sender.listen({ frame: () => undefined, close: () => undefined });
    const receiver = new FramedLink(b, {});
    receiver.established();
    firstFrames.push(
      new Promise((resolve) => {
        receiver.listen({
          frame: (f) => {
            frames.push(f);
            resolve();
          },
          close: () => undefined,
        });
      }),
    );
    out.push(sender);
    received.push(frames);
    wire.push(a.sent!);
  }
  return { out, received, wire, arrived: Promise.all(firstFrames).then(() => undefined) };
}

describe('a model sent to many framed links', () => {
  it('has its large arrays taken out and its frame encoded once, the same bytes to every link', async () => {
    const codec = new Codec();
    const big = new Float32Array(64 * 1024).map((_, i) => i);
    const weights = {
      dense: { shape: [big.length], data: big },
      bias: { shape: [2], data: new Float32Array([1, 2]) },
    };
    share(weights);
    const { encodes, extractions } = sharedValueStats;
    const { out, received, wire, arrived } = links(12, codec);
    out.forEach((link, i) => link.send(call(i + 1, [{ round: 1, weights, config: {} }])));
    expect(sharedValueStats.extractions - extractions).toBe(1);
    // The shared value with its arrays taken out is itself shared: encoded once too.
    expect(sharedValueStats.encodes - encodes).toBe(1);
    await arrived;
    const attachmentsOf = (messages: Uint8Array[]) => messages.filter((m) => m.byteLength >= 64 * 1024);
    for (const messages of wire) {
      // The attachment each link sent is a view of the model's own memory, not a copy.
      for (const part of attachmentsOf(messages)) expect(part.buffer).toBe(big.buffer);
    }
    received.forEach((frames, i) => {
      expect(frames).toHaveLength(1);
      const frame = frames[0] as CallFrame;
      expect(frame).toMatchObject({ kind: 'call', id: i + 1 });
      const got = (frame.args[0] as { weights: typeof weights }).weights;
      expect(got.bias).toEqual(weights.bias);
      expect(got.dense.shape).toEqual([big.length]);
      expect(sameBytes(got.dense.data, big)).toBe(true);
    });
  });
});
