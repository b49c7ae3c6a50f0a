import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Codec } from './codec.js';
import type { Envelope } from './envelope.js';
import { frameProblem } from './frame-checks.js';
import {
  anyFrame,
  encoded,
  expectPeerError,
  fuzzSettings,
  hostileValue,
  mutate,
  mutation,
  withField,
} from '../fuzz-test-support.js';

/*
 * Property-based tests of the decoder: whatever bytes arrive, Codec.decode returns a frame whose
 * every field passes the frame checks, or throws a typed error for bad input; nothing else, quickly,
 * and the next honest frame reads the same. A failure prints fast-check's seed and path: replay it
 * with FUZZ_SEED=<seed> FUZZ_PATH=<path> npx vitest run --project node packages/core/src/codec.fuzz.test.ts
 */

/** Generous: one decode of these inputs takes microseconds, but the machine is shared. */
const MAX_DECODE_MS = 250;

const ping: Envelope = { kind: 'ping', t: 7 };
const relayed: Envelope = {
  kind: 'call',
  id: 3,
  src: 'learner-1',
  dst: 'hub',
  method: 'train',
  args: [{ round: 1 }],
};

function decodesTyped(codec: Codec, bytes: Uint8Array): void {
  const started = performance.now();
  let frame: Envelope | undefined;
  try {
    frame = codec.decode(bytes);
  } catch (error) {
    expectPeerError(error);
  }
  const elapsed = performance.now() - started;
  if (elapsed > MAX_DECODE_MS)
    throw new Error(`decoding ${bytes.byteLength} bytes took ${elapsed.toFixed(0)} ms`);
  if (frame !== undefined) {
    const problem = frameProblem(frame);
    if (problem !== undefined) throw new Error(`decode returned a frame that fails its checks: ${problem}`);
  }
}

describe('Codec.decode under fuzzing', () => {
  const codec = new Codec({ maxFrameBytes: 64 * 1024 });
  const other = new Codec();
  const pingBytes = other.encode(ping);
  const relayedBytes = other.encode(relayed);

  /** Whatever came before, honest frames still decode to themselves, here and on a codec that saw none of it. */
  const honestStillRead = () => {
    for (const c of [codec, other]) {
      expect(c.decode(pingBytes)).toEqual(ping);
      expect(c.decode(relayedBytes)).toEqual(relayed);
    }
  };

  it('answers random bytes with a valid frame or a typed error, and nothing else', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        decodesTyped(codec, bytes);
        honestStillRead();
      }),
      fuzzSettings(12_000),
    );
  });

  it('answers random bytes that start like a frame (a shared layout, a tuple, a map) the same way', () => {
    const start = fc.constantFrom(0x40, 0x45, 0x48, 0x4a, 0x92, 0x94, 0x95, 0x84, 0xd4, 0xd5, 0xde);
    fc.assert(
      fc.property(start, fc.uint8Array({ maxLength: 128 }), (first, rest) => {
        decodesTyped(codec, Uint8Array.from([first, ...rest]));
        honestStillRead();
      }),
      fuzzSettings(8_000),
    );
  });

  it('answers frames of every kind, damaged (bytes flipped, inserted, cut, record definitions spliced in), the same way', () => {
    fc.assert(
      fc.property(anyFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        const bytes = encoded(other, frame);
        if (bytes === undefined) return;
        decodesTyped(codec, mutate(bytes, mutations));
        honestStillRead();
      }),
      fuzzSettings(10_000),
    );
  });

  it('answers frames of every kind with one field replaced by a hostile value the same way', () => {
    fc.assert(
      fc.property(anyFrame, fc.nat(), hostileValue, (frame, pick, value) => {
        const bytes = encoded(other, withField(frame, pick, value));
        if (bytes === undefined) return;
        decodesTyped(codec, bytes);
        honestStillRead();
      }),
      fuzzSettings(6_000),
    );
  });

  // Frames over maxDecodedBytes / 256 bytes are walked for their decoded size (decoded-size.ts)
  // first: with 4 KiB, every frame over 16 bytes is.
  const walking = new Codec({ maxDecodedBytes: 4096 });

  it('answers damaged frames and frames with hostile fields the same way when every frame over 16 bytes is walked first', () => {
    let walked = 0;
    let tried = 0;
    fc.assert(
      fc.property(anyFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        const bytes = encoded(other, frame);
        if (bytes === undefined) return;
        const damaged = mutate(bytes, mutations);
        tried += 1;
        if (damaged.byteLength > 16) walked += 1;
        decodesTyped(walking, damaged);
        honestStillRead();
      }),
      fuzzSettings(8_000),
    );
    // The walk ran on most of them (80% measured; the rest are 16 bytes or less).
    expect(walked / tried).toBeGreaterThan(0.7);
    fc.assert(
      fc.property(anyFrame, fc.nat(), hostileValue, (frame, pick, value) => {
        const bytes = encoded(other, withField(frame, pick, value));
        if (bytes !== undefined) decodesTyped(walking, bytes);
      }),
      fuzzSettings(4_000),
    );
  });

  it('reads every valid frame back as itself when it is walked first', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        expect(walking.decode(other.encode(frame))).toEqual(frame);
      }),
      fuzzSettings(3_000),
    );
  });

  it('reads every valid frame back as itself', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        expect(codec.decode(other.encode(frame))).toEqual(frame);
      }),
      fuzzSettings(3_000),
    );
  });

  it('answers any encodable value that is no frame with a typed error', () => {
    fc.assert(
      fc.property(
        fc.anything({
          maxDepth: 4,
          withMap: true,
          withSet: true,
          withTypedArray: true,
          withBigInt: true,
          withDate: true,
          withNullPrototype: true,
        }),
        (value) => {
          let bytes: Uint8Array;
          try {
            bytes = other.encodeValue(value);
          } catch {
            return;
          }
          decodesTyped(codec, bytes);
        },
      ),
      fuzzSettings(3_000),
    );
  });
});
