import { describe, expect, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import type { Envelope, EventFrame } from '../wire/envelope.js';
import { FramedLink } from './framed-link.js';
import type { ByteChannel, ByteHandlers } from './link.js';
import { MemoryPort } from './memory-channel.js';

const event = (id: number, payload: unknown): EventFrame => ({
  kind: 'event',
  id,
  src: 'a',
  dst: 'b',
  name: 'e',
  payload,
});

/** A byte channel whose buffer the test fills and drains by hand, to see what the link does. */
class ManualChannel implements ByteChannel {
  readonly written: Uint8Array[] = [];
  bufferedAmount = 0;
  closed = false;
  #drained: { threshold: number; listener: () => void } | undefined;
  send(bytes: Uint8Array): void {
    this.written.push(bytes);
    this.bufferedAmount += bytes.byteLength;
  }
  listen(): void {
    // The test looks at what was written, never at what arrives.
  }
  close(): void {
    this.closed = true;
  }
  whenDrained(threshold: number, listener: () => void): void {
    this.#drained = { threshold, listener };
  }
  drain(): void {
    this.bufferedAmount = 0;
    const waiting = this.#drained;
    this.#drained = undefined;
    waiting?.listener();
  }
  get waiting(): boolean {
    return this.#drained !== undefined;
  }
}

function pair(options: ConstructorParameters<typeof FramedLink>[1] = {}) {
  const [a, b] = MemoryPort.pair<Uint8Array>(true);
  const sender = new FramedLink(a, options);
  const receiver = new FramedLink(b, options);
  // No node here to say the handshake is done: these links carry chunks and attachments from the start.
  sender.established();
  receiver.established();
  const frames: Envelope[] = [];
  let heard = 0;
  const errors: string[] = [];
  const closed = new Promise<string>((resolve) =>
    receiver.listen({
      frame: (f) => frames.push(f),
      close: resolve,
      heard: () => heard++,
      error: (e) => void errors.push(`${e.code}: ${e.message}`),
    }),
  );
  return { sender, receiver, frames, closed, heardCount: () => heard, errors, wire: a };
}

describe('FramedLink attachments', () => {
  it('sends large typed arrays as raw slices beside the frame and restores them where they were', async () => {
    const { sender, frames, closed, wire } = pair({ chunkSize: 64 * 1024 });
    const weights = {
      dense: { kernel: new Float32Array(50_000).map((_, i) => i), bias: new Float32Array(3) },
      ids: new BigInt64Array(20_000).fill(7n),
    };
    const payload = { round: 4, weights, list: [new Float64Array(9_000).fill(0.5)] };
    sender.send(event(1, payload));
    sender.close();
    await closed;
    // header, then 200,000 / 65,536 -> 4 slices, 160,000 -> 3, 72,000 -> 2; the small bias stays in the frame
    expect(wire.sent).toHaveLength(1 + 4 + 3 + 2);
    const got = (frames[0] as EventFrame).payload as typeof payload;
    expect(got.round).toBe(4);
    expect(got.weights.dense.kernel).toBeInstanceOf(Float32Array);
    expect(got.weights.dense.kernel).toEqual(weights.dense.kernel);
    expect(got.weights.dense.bias).toEqual(new Float32Array(3));
    expect(got.weights.ids).toBeInstanceOf(BigInt64Array);
    expect(got.weights.ids[19_999]).toBe(7n);
    expect(got.list[0]).toEqual(payload.list[0]);
    expect(payload.weights.dense.kernel).toBe(weights.dense.kernel); // the sender's objects are left alone
  });

  it('receives attachments into the memory options.allocate gives, whatever that memory held before', async () => {
    const sizes: number[] = [];
    // Stands in for Buffer.allocUnsafeSlow: memory that is not zeroed, at an offset inside a larger buffer.
    const allocate = (bytes: number) => {
      sizes.push(bytes);
      return new Uint8Array(new ArrayBuffer(bytes + 16), 8, bytes).fill(0xaa);
    };
    const { sender, frames, closed } = pair({ chunkSize: 64 * 1024, allocate });
    const kernel = new Float32Array(50_000).map((_, i) => i / 7);
    const ids = new BigInt64Array(10_000).fill(-3n);
    sender.send(event(1, { kernel, ids }));
    sender.close();
    await closed;
    expect(sizes).toEqual([200_000, 80_000]);
    const got = (frames[0] as EventFrame).payload as { kernel: Float32Array; ids: BigInt64Array };
    expect(got.kernel).toBeInstanceOf(Float32Array);
    expect(got.kernel).toHaveLength(50_000);
    expect(got.kernel).toEqual(kernel);
    expect(got.ids).toHaveLength(10_000);
    expect(got.ids).toEqual(ids);
  });

  it('keeps pings out of the middle of a frame and its attachments', () => {
    const channel = new ManualChannel();
    const link = new FramedLink(channel, { chunkSize: 64 * 1024, highWater: 100 * 1024 });
    link.send(event(1, new Float32Array(100_000)));
    link.send({ kind: 'ping', t: 1 });
    while (channel.waiting) channel.drain();
    const codec = new Codec();
    expect(codec.decode(channel.written[0]!).kind).toBe('attached');
    expect(channel.written).toHaveLength(1 + 7 + 1);
    expect(codec.decode(channel.written[8]!).kind).toBe('ping');
  });

  it('refuses an attachment that overflows what its frame announced, and types it does not know', async () => {
    const codec = new Codec();
    const a = pair({ codec });
    a.wire.send(
      codec.encode({ kind: 'attached', frame: event(1, null), sizes: [8], types: ['Float32Array'] }),
    );
    a.wire.send(new Uint8Array(12));
    const b = pair({ codec });
    b.wire.send(codec.encode({ kind: 'attached', frame: event(1, null), sizes: [8], types: ['Function'] }));
    const c = pair({ codec: new Codec({ maxFrameBytes: 1000 }) });
    c.wire.send(
      codec.encode({ kind: 'attached', frame: event(1, null), sizes: [4096], types: ['Uint8Array'] }),
    );
    for (const p of [a, b, c]) p.sender.close();
    await Promise.all([a.closed, b.closed, c.closed]);
    expect(a.errors).toEqual(['BAD_FRAME: attachment 0 overflows its announced 8 bytes']);
    expect(b.errors).toEqual([
      expect.stringMatching(/^BAD_FRAME: malformed attached frame: types\[0\] is not a typed array kind/),
    ]);
    expect(c.errors[0]).toMatch(/PAYLOAD_TOO_LARGE/);
  });
});

describe('FramedLink limits, progress and whole messages', () => {
  /** A memory byte channel that claims what a socket's has: its own memory per message, progress while one arrives. */
  function socketLike(port: MemoryPort<Uint8Array>, extra: Partial<ByteChannel>): ByteChannel {
    return {
      get closed() {
        return port.closed;
      },
      send: (bytes) => port.send(bytes),
      listen: (handlers) => port.listen(handlers),
      close: (reason) => port.close(reason),
      ...extra,
    };
  }

  it('sends its limits first when its channel hears messages arrive, and its peer then sends messages up to that size whole', async () => {
    const [a, b] = MemoryPort.pair<Uint8Array>(true);
    const server = new FramedLink(socketLike(b, { reportsProgress: true, maxMessageSize: 1024 * 1024 }));
    server.established();
    const learner = new FramedLink(a, { chunkSize: 64 * 1024 });
    const frames: Envelope[] = [];
    const arrived = new Promise<void>((resolve) =>
      server.listen({
        frame: (f) => {
          frames.push(f);
          resolve();
        },
        close: () => undefined,
      }),
    );
    const told = new Promise<void>((resolve) =>
      learner.listen({ frame: () => undefined, close: () => undefined, heard: resolve }),
    );
    expect(new Codec().decode(b.sent![0]!)).toEqual({ kind: 'limits', maxMessage: 1024 * 1024 });
    await told;
    const kernel = new Float32Array(200_000).map((_, i) => i);
    learner.send(event(1, { kernel }));
    await arrived;
    expect(a.sent).toHaveLength(2); // the frame, then 800,000 bytes in one message instead of 13 chunks
    expect(((frames[0] as EventFrame).payload as { kernel: Float32Array }).kernel).toEqual(kernel);
  });

  it('cuts messages below a smaller limit its peer announces', async () => {
    const [a, b] = MemoryPort.pair<Uint8Array>(true);
    const learner = new FramedLink(a);
    const told = new Promise<void>((resolve) =>
      learner.listen({ frame: () => undefined, close: () => undefined, heard: resolve }),
    );
    b.send(new Codec().encode({ kind: 'limits', maxMessage: 100_000 }));
    await told;
    learner.send(event(1, new Float32Array(100_000)));
    expect(a.sent!.slice(1).map((m) => m.byteLength)).toEqual([
      99_936,
      99_936,
      99_936,
      99_936,
      400_000 - 4 * 99_936,
    ]);
  });

  it('counts bytes of a message still arriving as the peer being heard', () => {
    let handlers: ByteHandlers | undefined;
    const [a] = MemoryPort.pair<Uint8Array>();
    const channel = socketLike(a, {
      reportsProgress: true,
      listen: (h: ByteHandlers) => void (handlers = h),
    });
    let heard = 0;
    new FramedLink(channel).listen({ frame: () => undefined, close: () => undefined, heard: () => heard++ });
    handlers!.progress!();
    handlers!.progress!();
    expect(heard).toBe(2);
  });

  it('hands on an attachment that came whole in a message owning its memory, without a copy; copies any other', async () => {
    for (const ownsReceived of [true, false]) {
      const [a, b] = MemoryPort.pair<Uint8Array>();
      const sender = new FramedLink(a);
      const receiver = new FramedLink(socketLike(b, { ownsReceived }));
      receiver.established();
      const got = new Promise<Envelope>((resolve) =>
        receiver.listen({ frame: resolve, close: () => undefined }),
      );
      const whole = new Float32Array(100_000).fill(2);
      const view = new Float32Array(new ArrayBuffer(400_008), 8, 100_000).fill(3);
      sender.send(event(1, { whole, view }));
      const payload = ((await got) as EventFrame).payload as { whole: Float32Array; view: Float32Array };
      // Over this memory channel the message is the sender's own memory: taking it shows no copy was made.
      expect(payload.whole.buffer === whole.buffer).toBe(ownsReceived);
      expect(payload.view.buffer).not.toBe(view.buffer); // a slice of a larger buffer is always copied
      expect(payload.whole).toEqual(whole);
      expect(payload.view).toEqual(view);
    }
  });
});

describe('FramedLink chunking', () => {
  it('sends a frame larger than the chunk size as chunks and reassembles it exactly', async () => {
    const { sender, frames, closed, heardCount, wire } = pair({ chunkSize: 4096 });
    const weights = new Float32Array(10_000).map((_, i) => i * 0.5);
    sender.send(event(1, weights));
    sender.send(event(2, 'small'));
    sender.close('done');
    await closed;
    expect(wire.sent!.length).toBe(Math.ceil((weights.byteLength + 60) / 4096) + 1);
    expect(heardCount()).toBe(wire.sent!.length - 2); // every chunk but the last tells of a live peer
    expect(frames).toHaveLength(2);
    expect((frames[0] as EventFrame).payload).toEqual(weights);
    expect((frames[1] as EventFrame).payload).toBe('small');
  });

  it('lets pings and pongs overtake queued chunks while the channel is full, and waits for it to drain', () => {
    const channel = new ManualChannel();
    const link = new FramedLink(channel, { chunkSize: 1024, highWater: 2048 });
    link.send(event(1, new Uint8Array(10 * 1024)));
    expect(channel.waiting).toBe(true);
    const before = channel.written.length;
    link.send({ kind: 'ping', t: 1 });
    expect(channel.written.length).toBe(before); // the buffer is full: nothing is written now...
    channel.drain();
    const codec = new Codec();
    expect(codec.decode(channel.written[before]!).kind).toBe('ping'); // ...and the ping goes first
    while (channel.waiting) channel.drain();
    const kinds = channel.written.map((b) => codec.decode(b).kind);
    expect(kinds.filter((k) => k === 'chunk')).toHaveLength(11);
  });

  it('refuses chunks out of order, and a chunked frame over the size limit', async () => {
    const codec = new Codec({ maxFrameBytes: 10_000 });
    const a = pair({ codec, chunkSize: 1024 });
    a.wire.send(codec.encode({ kind: 'chunk', id: 7, index: 0, count: 3, data: new Uint8Array(10) }));
    a.wire.send(codec.encode({ kind: 'chunk', id: 7, index: 2, count: 3, data: new Uint8Array(10) }));
    const b = pair({ codec, chunkSize: 1024 });
    for (let index = 0; index < 12; index++)
      b.wire.send(codec.encode({ kind: 'chunk', id: 1, index, count: 20, data: new Uint8Array(1000) }));
    a.sender.close();
    b.sender.close();
    await Promise.all([a.closed, b.closed]);
    expect(a.errors).toEqual(['BAD_FRAME: chunk 2/3 of frame 7 out of order']);
    expect(b.errors[0]).toMatch(/PAYLOAD_TOO_LARGE: chunked frame 1 exceeds the limit of 10000 bytes/);
  });

  it('refuses more chunked frames in flight than it will hold', async () => {
    const codec = new Codec();
    const { wire, sender, closed, errors } = pair({ codec });
    for (let id = 1; id <= 17; id++)
      wire.send(codec.encode({ kind: 'chunk', id, index: 0, count: 2, data: new Uint8Array(4) }));
    sender.close();
    await closed;
    expect(errors).toEqual(['BAD_FRAME: more than 16 chunked frames in flight at once']);
  });
});

describe('FramedLink traffic', () => {
  it('counts the bytes each end handed to and read from the channel: frames, chunks and attachments as they went', async () => {
    const { sender, receiver, frames, closed, wire } = pair({ chunkSize: 64 * 1024 });
    sender.send(event(1, 'small'));
    sender.send(event(2, { kernel: new Float32Array(50_000) }));
    sender.send(event(3, 'x'.repeat(200_000)));
    sender.close();
    await closed;
    expect(frames).toHaveLength(3);
    const onWire = wire.sent!.reduce((n, bytes) => n + bytes.byteLength, 0);
    expect(sender.bytesOut).toBe(onWire);
    expect(sender.bytesOut).toBeGreaterThan(400_000);
    expect(receiver.bytesIn).toBe(onWire);
    expect(receiver.bytesOut).toBe(0);
  });
});
