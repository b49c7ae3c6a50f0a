import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';
import { Codec } from '../wire/codec.js';
import type { Envelope, EventFrame } from '../wire/envelope.js';
import type { OiafedError } from '../wire/errors.js';
import { FramedLink, type FramedLinkOptions } from './framed-link.js';
import type { ByteChannel, ByteHandlers } from './link.js';
import { MemoryPort } from './memory-channel.js';
import { withTimeout } from '../test-support.js';

const codec = new Codec();
const event = (payload: unknown): EventFrame => ({
  kind: 'event',
  id: 0,
  src: 'a',
  dst: 'b',
  name: 'e',
  payload,
});
const chunk = (id: number, index: number, count: number, bytes: number) =>
  codec.encode({ kind: 'chunk', id, index, count, data: new Uint8Array(bytes) });
const attached = (sizes: number[]) =>
  codec.encode({
    kind: 'attached',
    frame: event(null) as never,
    sizes,
    types: sizes.map(() => 'Uint8Array'),
  });

/** A memory byte channel that can stop delivering, as a paused socket stops reading, and say what it holds. */
function pausable(port: MemoryPort<Uint8Array>) {
  let handlers: ByteHandlers | undefined;
  const held: Uint8Array[] = [];
  const state = { paused: false, pauses: 0 };
  const channel: ByteChannel = {
    get closed() {
      return port.closed;
    },
    send: (bytes) => port.send(bytes),
    close: (reason) => port.close(reason),
    listen(h) {
      handlers = h;
      port.listen({
        data: (bytes) => (state.paused ? held.push(bytes) : h.data(bytes)),
        close: (reason) => h.close(reason),
      });
    },
    pause() {
      state.paused = true;
      state.pauses += 1;
    },
    resume() {
      state.paused = false;
      for (const bytes of held.splice(0)) handlers!.data(bytes);
    },
  };
  return { channel, state, held };
}

/** The receiving end of a link, established (as a node makes it after the hello), and the raw end that writes at it. */
function receiving(
  options: FramedLinkOptions = {},
  wrap?: (port: MemoryPort<Uint8Array>) => ByteChannel,
  established = true,
) {
  const [raw, port] = MemoryPort.pair<Uint8Array>();
  const link = new FramedLink(wrap ? wrap(port) : port, options);
  if (established) link.established();
  const frames: Envelope[] = [];
  let heard = 0;
  let failed: (error: OiafedError) => void = () => undefined;
  const error = withTimeout(new Promise<OiafedError>((resolve) => (failed = resolve)), 3_000, 'no error');
  let arrived: (frame: Envelope) => void = () => undefined;
  const frame = withTimeout(new Promise<Envelope>((resolve) => (arrived = resolve)), 3_000, 'no frame');
  link.listen({
    frame: (f) => {
      frames.push(f);
      arrived(f);
    },
    close: () => undefined,
    error: (e) => failed(e),
    heard: () => heard++,
  });
  return { link, raw, frames, error, frame, heard: () => heard };
}

describe('FramedLink before the handshake', () => {
  it('takes only what a hello needs: larger messages are PAYLOAD_TOO_LARGE, chunks and attachments BAD_FRAME', async () => {
    const helloBytes = 1024;
    const large = receiving({ helloBytes }, undefined, false);
    large.raw.send(codec.encode(event('x'.repeat(2000))));
    expect(await large.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/before the handshake/),
    });

    const chunked = receiving({ helloBytes }, undefined, false);
    chunked.raw.send(chunk(1, 0, 2, 10));
    expect(await chunked.error).toMatchObject({
      code: 'BAD_FRAME',
      message: expect.stringMatching(/^chunk frame before the handshake/),
    });

    const withAttachment = receiving({ helloBytes }, undefined, false);
    withAttachment.raw.send(attached([8]));
    expect(await withAttachment.error).toMatchObject({
      code: 'BAD_FRAME',
      message: expect.stringMatching(/^attached frame before the handshake/),
    });

    const small = receiving({ helloBytes }, undefined, false);
    small.raw.send(codec.encode(event('hello-sized')));
    expect(await small.frame).toMatchObject({ payload: 'hello-sized' });
  });

  it('asks its channel to refuse large messages before buffering them, and lifts that to the channel limit once established', () => {
    const limits: number[] = [];
    const [, port] = MemoryPort.pair<Uint8Array>();
    const channel: ByteChannel = {
      get closed() {
        return port.closed;
      },
      send: (b) => port.send(b),
      listen: (h) => port.listen(h),
      close: (r) => port.close(r),
      maxMessageSize: 1 << 20,
      limitIncoming: (bytes) => void limits.push(bytes),
    };
    const link = new FramedLink(channel, { helloBytes: 4096 });
    expect(limits).toEqual([4096]);
    link.established();
    link.established();
    expect(limits).toEqual([4096, 1 << 20]);
  });
});

describe('FramedLink partial frames per link', () => {
  it('closes a link whose chunks held exceed linkPartialBytes with PAYLOAD_TOO_LARGE, and lets go of them', async () => {
    const budget = new ByteBudget(1 << 20);
    const { raw, error } = receiving({ linkPartialBytes: 100_000, partialBudget: budget });
    for (let index = 0; index < 5; index++) raw.send(chunk(1, index, 10, 30_000));
    expect(await error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/^120\d+ bytes of frames arriving at once exceed this link's 100000/),
    });
    expect(budget.used).toBe(90_000); // three chunks held until the node closes the link
  });

  it('counts chunks by number, so that empty ones cannot grow the heap without limit', async () => {
    const { raw, error } = receiving({ linkPartialChunks: 64 });
    for (let id = 1; id <= 16; id++)
      for (let index = 0; index < 5; index++) raw.send(chunk(id, index, 50, 0));
    expect(await error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: 'more than 64 chunks held at once',
    });

    const announced = receiving({ linkPartialChunks: 64 });
    announced.raw.send(chunk(1, 0, 1_000_000, 0));
    expect(await announced.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/claims 1000000 chunks; a link holds at most 64/),
    });
  });

  it('refuses an attached frame announcing more than linkPartialBytes before any of its bytes arrive', async () => {
    const budget = new ByteBudget(1 << 30);
    const { raw, error } = receiving({ linkPartialBytes: 1 << 20, partialBudget: budget });
    raw.send(attached([1 << 19, 1 << 19, 8]));
    expect(await error).toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    expect(budget.used).toBe(0);
  });

  it('counts what the channel says is arriving, and gives it back once the message is whole', async () => {
    let handlers: ByteHandlers | undefined;
    const budget = new ByteBudget(1 << 20);
    const [raw, port] = MemoryPort.pair<Uint8Array>();
    const channel: ByteChannel = {
      get closed() {
        return port.closed;
      },
      send: (b) => port.send(b),
      close: (r) => port.close(r),
      reportsProgress: true,
      listen: (h) => {
        handlers = h;
        port.listen(h);
      },
    };
    const link = new FramedLink(channel, { linkPartialBytes: 64 * 1024, partialBudget: budget });
    link.established();
    const errors: OiafedError[] = [];
    const frame = new Promise<Envelope>((resolve) =>
      link.listen({ frame: resolve, close: () => undefined, error: (e) => void errors.push(e) }),
    );
    const message = codec.encode(event('y'.repeat(30_000)));
    handlers!.progress!(message.byteLength);
    expect(budget.used).toBe(message.byteLength);
    raw.send(message);
    expect(await frame).toMatchObject({ payload: 'y'.repeat(30_000) });
    expect(budget.used).toBe(0);
    handlers!.progress!(65 * 1024);
    expect(errors.map((e) => e.code)).toEqual(['PAYLOAD_TOO_LARGE']);
  });
});

describe('FramedLink partial frames of all links together', () => {
  /** Two 30,000-byte chunks of a three-chunk frame on link A: 60,000 of a 100,000-byte budget held. */
  async function holdingTwoChunks(budget: ByteBudget) {
    const bytes = codec.encode(event('z'.repeat(80_000)));
    const parts = [0, 1, 2].map((index) =>
      codec.encode({
        kind: 'chunk',
        id: 9,
        index,
        count: 3,
        data: bytes.subarray(index * 30_000, (index + 1) * 30_000),
      }),
    );
    const a = receiving({ partialBudget: budget });
    a.raw.send(parts[0]!);
    a.raw.send(parts[1]!);
    await Promise.resolve();
    expect(budget.used).toBe(60_000);
    return { a, last: parts[2]! };
  }

  it('pauses a link that finds no room while it holds nothing, keeps its peer alive meanwhile, and reads it once room is free', async () => {
    const budget = new ByteBudget(100_000);
    const { a, last } = await holdingTwoChunks(budget);
    let b!: ReturnType<typeof pausable>;
    const link = receiving({ partialBudget: budget }, (port) => (b = pausable(port)).channel);
    const sender = new FramedLink(link.raw);
    sender.established();
    const weights = new Float32Array(20_000).map((_, i) => i); // 80,000 bytes: an attachment
    sender.send(event({ weights }));
    await Promise.resolve();
    expect(b.state.paused).toBe(true);
    expect(budget.waiting).toBe(1);
    expect(budget.used).toBe(60_000);
    expect(b.held.length).toBeGreaterThan(0); // the attachment's bytes wait in the (paused) channel

    const heardBefore = link.heard();
    link.link.send({ kind: 'ping', t: 1 }); // the heartbeat's ping: the silence is ours, not the peer's
    expect(link.heard()).toBe(heardBefore + 1);

    a.raw.send(last); // A's frame completes and gives its 60,000 bytes back
    expect(await a.frame).toMatchObject({ payload: 'z'.repeat(80_000) });
    const got = (await link.frame) as EventFrame;
    expect((got.payload as { weights: Float32Array }).weights).toEqual(weights);
    expect(b.state).toEqual({ paused: false, pauses: 1 });
    expect(budget.used).toBe(0);
  });

  it('closes a link OVERLOADED when it cannot wait: its channel cannot pause, or it holds bytes already', async () => {
    const budget = new ByteBudget(100_000);
    await holdingTwoChunks(budget);
    const unpausable = receiving({ partialBudget: budget });
    unpausable.raw.send(attached([60_000]));
    expect(await unpausable.error).toMatchObject({
      code: 'OVERLOADED',
      message: expect.stringMatching(/no room for 60000 more bytes arriving: 60000 of 100000/),
    });

    const holding = receiving({ partialBudget: budget }, (port) => pausable(port).channel);
    holding.raw.send(chunk(1, 0, 3, 30_000));
    holding.raw.send(chunk(1, 1, 3, 30_000));
    expect(await holding.error).toMatchObject({ code: 'OVERLOADED' });
    expect(budget.used).toBe(90_000); // A's 60,000 and the first chunk, until the node closes the link
    holding.link.close('OVERLOADED');
    expect(budget.used).toBe(60_000);
  });
});

describe('FramedLink outbound bytes', () => {
  /** A channel that takes bytes and never writes them out: a peer that stopped reading. */
  function stalled() {
    const closes: string[] = [];
    let buffered = 0;
    const channel: ByteChannel = {
      closed: false,
      get bufferedAmount() {
        return buffered;
      },
      send: (bytes) => void (buffered += bytes.byteLength),
      listen: () => undefined,
      close: (reason = '') => void closes.push(reason),
      whenDrained: () => undefined,
    };
    return { channel, closes };
  }

  it('closes the link OVERLOADED instead of buffering more than outboundBytes for a peer that does not read', () => {
    const { channel, closes } = stalled();
    const link = new FramedLink(channel, { outboundBytes: 64 * 1024 });
    const payload = 'p'.repeat(20 * 1024);
    link.send(event(payload)); // written: 20 KiB in the channel
    link.send(event(payload)); // written: 40 KiB, past the high-water mark (half of 64 KiB)
    link.send(event(payload)); // queued: 60 KiB waiting
    expect(closes).toEqual([]);
    expect(() => link.send(event(payload))).toThrow(expect.objectContaining({ code: 'OVERLOADED' }));
    expect(closes).toHaveLength(1);
    expect(closes[0]).toMatch(
      /^OVERLOADED: \d+ bytes are still waiting to go to a peer that reads slower than it is sent to \(limit 65536\)/,
    );
    expect(() => link.send(event('x'))).toThrow(expect.objectContaining({ code: 'DISCONNECTED' }));
  });

  it('refuses a frame larger than outboundBytes with PAYLOAD_TOO_LARGE to the sender, and keeps the link', () => {
    const { channel, closes } = stalled();
    const link = new FramedLink(channel, { outboundBytes: 64 * 1024, chunkSize: 16 * 1024 });
    expect(() => link.send(event(new Float32Array(20_000)))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    expect(() => link.send(event('q'.repeat(80_000)))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    expect(closes).toEqual([]);
    link.send(event('small'));
  });
});
