import fc from 'fast-check';
import { describe, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { frameProblem } from '../wire/frame-checks.js';
import { FramedLink } from './framed-link.js';
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
import type { ByteChannel, ByteHandlers } from './link.js';

/*
 * Property-based tests of a framed link fed whatever a peer may send: random and damaged frames,
 * chunks and attachments of hostile sizes, limits of any value. Only typed errors reach the link's
 * error handler, nothing throws out of the channel's data callback, every frame handed on passes
 * the frame checks, and the link either carries on or is closed after its first error. A failure
 * prints fast-check's seed and path: replay it with FUZZ_SEED=<seed> FUZZ_PATH=<path>.
 */

const MAX_FRAME_BYTES = 64 * 1024;

/**
 * A byte channel the test delivers to by hand, synchronously, so that a throw out of `data` is seen where it
 * happens.
 */
class ScriptedChannel implements ByteChannel {
  closed = false;
  #handlers: ByteHandlers | undefined;
  constructor(
    readonly maxMessageSize: number | undefined,
    readonly reportsProgress: boolean,
    readonly ownsReceived: boolean,
  ) {}
  send(): void {
    // What the link sends is not what this test is about.
  }
  listen(handlers: ByteHandlers): void {
    this.#handlers = handlers;
  }
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closed = true;
    this.#handlers?.close(reason);
  }
  deliver(bytes: Uint8Array): void {
    this.#handlers!.data(bytes);
  }
}

const codec = new Codec();

/** What may come in one message: bytes of any kind, frames right or wrong, chunks and attachments of any size. */
const message: fc.Arbitrary<Uint8Array[]> = fc.oneof(
  fc.uint8Array({ maxLength: 200 }).map((bytes) => [bytes]),
  anyFrame.map((frame) => [encoded(codec, frame) ?? new Uint8Array(0)]),
  fc
    .tuple(anyFrame, fc.array(mutation, { minLength: 1, maxLength: 3 }))
    .map(([frame, mutations]) => [mutate(encoded(codec, frame) ?? new Uint8Array(0), mutations)]),
  fc
    .tuple(anyFrame, fc.nat(), hostileValue)
    .map(([frame, pick, value]) => [encoded(codec, withField(frame, pick, value)) ?? new Uint8Array(1)]),
  // Chunks with ids, positions and counts right, wrong or hostile.
  fc
    .record({
      id: fc.oneof(fc.nat(3), hostileValue),
      index: fc.oneof(fc.nat(3), hostileValue),
      count: fc.oneof(fc.integer({ min: 2, max: 4 }), fc.constant(2 ** 31), hostileValue),
      data: fc.uint8Array({ maxLength: 1500 }),
    })
    .map((chunk) => [
      encoded(codec, { kind: 'chunk', ...chunk } as unknown as Envelope) ?? new Uint8Array(0),
    ]),
  // An honest frame cut into chunks, maybe with one chunk dropped or repeated.
  fc
    .tuple(fc.integer({ min: 1500, max: 6000 }), fc.nat(50), fc.constantFrom('whole', 'drop', 'repeat'))
    .map(([size, id, how]) => {
      const bytes = codec.encode({
        kind: 'event',
        id: 0,
        name: 'big',
        payload: new Uint8Array(size).fill(7),
      } as unknown as Envelope);
      const count = Math.ceil(bytes.byteLength / 1024);
      const chunks = Array.from({ length: count }, (_, index) =>
        codec.encode({
          kind: 'chunk',
          id,
          index,
          count,
          data: bytes.subarray(index * 1024, (index + 1) * 1024),
        }),
      );
      if (how === 'drop') chunks.splice(1, 1);
      if (how === 'repeat') chunks.splice(1, 0, chunks[1]!);
      return chunks;
    }),
  // An attached frame announcing attachments of any size and kind, then raw messages of any length.
  fc
    .record({
      sizes: fc.array(
        fc.oneof(fc.constantFrom(0, 4, 8, 16, 1024, MAX_FRAME_BYTES + 8, 2 ** 40), fc.nat(64), hostileValue),
        { maxLength: 4 },
      ),
      types: fc.array(
        fc.oneof(
          fc.constantFrom(
            'Float32Array',
            'Uint8Array',
            'Float64Array',
            'constructor',
            '__proto__',
            'toString',
            'Function',
          ),
          hostileValue,
        ),
        { maxLength: 4 },
      ),
      raw: fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }),
      ref: fc.oneof(fc.nat(5), hostileValue),
    })
    .map(({ sizes, types, raw, ref }) => {
      const payload = { model: { kind: 'ref', ref } };
      const header = encoded(codec, {
        kind: 'attached',
        frame: { kind: 'event', id: 0, name: 'model', payload },
        sizes,
        types,
      } as unknown as Envelope);
      return [header ?? new Uint8Array(0), ...raw];
    }),
  fc
    .oneof(fc.integer({ min: -10, max: 2 ** 31 }), hostileValue)
    .map((maxMessage) => [
      encoded(codec, { kind: 'limits', maxMessage } as unknown as Envelope) ?? new Uint8Array(0),
    ]),
);

const channelShape = fc.record({
  maxMessageSize: fc.option(fc.constantFrom(2048, 16 * 1024, 262_144), { nil: undefined }),
  reportsProgress: fc.boolean(),
  ownsReceived: fc.boolean(),
  chunkSize: fc.constantFrom(1024, 4096),
});

describe('FramedLink under fuzzing', () => {
  it('hands on only valid frames and typed errors, never throws out of the channel, and carries on or closes', () => {
    fc.assert(
      fc.property(channelShape, fc.array(message, { minLength: 1, maxLength: 10 }), (shape, messages) => {
        const channel = new ScriptedChannel(shape.maxMessageSize, shape.reportsProgress, shape.ownsReceived);
        const link = new FramedLink(channel, {
          codec: new Codec({ maxFrameBytes: MAX_FRAME_BYTES }),
          chunkSize: shape.chunkSize,
        });
        const problems: string[] = [];
        let failed: unknown;
        let closed = false as boolean;
        link.listen({
          frame: (frame) => {
            const problem = frameProblem(frame);
            if (problem !== undefined) problems.push(problem);
          },
          error: (error) => {
            failed ??= error;
            link.close(error.message);
          },
          close: () => void (closed = true),
          heard: () => undefined,
        });
        for (const bytes of messages.flat()) {
          if (closed) break;
          // A throw here is what the issue found: an exception out of a link's frame handling.
          channel.deliver(bytes);
        }
        if (failed !== undefined) {
          expectPeerError(failed);
          if (!closed) throw new Error('the link was not closed after its error');
        }
        if (problems.length > 0)
          throw new Error(`a frame that fails its checks was handed on: ${problems[0]}`);
      }),
      fuzzSettings(6_000),
    );
  });
});
