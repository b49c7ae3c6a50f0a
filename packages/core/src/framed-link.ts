import { Codec } from './codec.js';
import type { ChunkFrame, Envelope } from './envelope.js';
import { OiafedError } from './errors.js';
import type { ByteChannel, Link, LinkHandlers } from './link.js';
import { assertWireSafe } from './wire-safe.js';

export interface FramedLinkOptions {
  codec?: Codec;
  /** Refuse values a real wire would mangle (functions, class instances) instead of dropping them. */
  strict?: boolean;
  /**
   * Frames larger than this travel as chunks of this size (default 256 KiB, or the channel's
   * maxMessageSize if smaller). Pings and pongs go between chunks, so a large model in transit
   * never starves the heartbeat, and every chunk that arrives counts as the peer being alive.
   */
  chunkSize?: number;
  /** Stop writing while the channel holds more than this many bytes unsent (default 1 MiB). */
  highWater?: number;
}

const DEFAULT_CHUNK = 256 * 1024;
const DEFAULT_HIGH_WATER = 1024 * 1024;
/** Large frames being reassembled at once, per link. */
const MAX_PARTIALS = 16;

interface Partial {
  count: number;
  parts: Uint8Array[];
  bytes: number;
}

/**
 * Turns a byte channel into a link: every frame through the codec, every size limit checked,
 * large frames chunked, and writes paced by the channel's buffer where it reports one.
 */
export class FramedLink implements Link {
  readonly #channel: ByteChannel;
  readonly #codec: Codec;
  readonly #strict: boolean;
  readonly #chunkSize: number;
  readonly #highWater: number;
  /** Pings and pongs: sent before anything queued. */
  #urgent: Uint8Array[] = [];
  #queue: Uint8Array[] = [];
  #head = 0;
  #waiting = false;
  #chunkSeq = 0;
  readonly #partials = new Map<number, Partial>();

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    this.#codec = options.codec ?? new Codec();
    this.#strict = options.strict ?? false;
    // Room for the chunk frame's own header within the channel's message limit.
    const limit = channel.maxMessageSize === undefined ? Infinity : channel.maxMessageSize - 64;
    this.#chunkSize = Math.max(1024, Math.min(options.chunkSize ?? DEFAULT_CHUNK, limit));
    this.#highWater = options.highWater ?? DEFAULT_HIGH_WATER;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  send(frame: Envelope): void {
    if (this.#channel.closed) throw new OiafedError('DISCONNECTED', 'link is closed');
    if (this.#strict) assertWireSafe(frame);
    const bytes = this.#codec.encode(frame);
    if (frame.kind === 'ping' || frame.kind === 'pong') this.#urgent.push(bytes);
    else if (bytes.byteLength <= this.#chunkSize) this.#queue.push(bytes);
    else {
      const id = ++this.#chunkSeq;
      const count = Math.ceil(bytes.byteLength / this.#chunkSize);
      for (let index = 0; index < count; index++) {
        const data = bytes.subarray(index * this.#chunkSize, (index + 1) * this.#chunkSize);
        this.#queue.push(this.#codec.encode({ kind: 'chunk', id, index, count, data }));
      }
    }
    this.#pump();
  }

  listen(handlers: LinkHandlers): void {
    const fail = (error: OiafedError) => (handlers.error ? handlers.error(error) : this.close(error.message));
    this.#channel.listen({
      data: (bytes) => {
        let frame: Envelope;
        try {
          frame = this.#codec.decode(bytes);
          if (frame.kind === 'chunk') {
            const whole = this.#reassemble(frame);
            if (!whole) return handlers.heard?.();
            frame = this.#codec.decode(whole);
          }
        } catch (error) {
          return fail(error as OiafedError);
        }
        handlers.frame(frame);
      },
      error: fail,
      close: (reason) => {
        this.#urgent = [];
        this.#queue = [];
        this.#partials.clear();
        handlers.close(reason);
      },
    });
  }

  close(reason?: string): void {
    this.#channel.close(reason);
  }

  /** Writes queued frames until the channel's buffer is full, then waits for it to drain. */
  #pump(): void {
    if (this.#waiting) return;
    const channel = this.#channel;
    while (!channel.closed) {
      const next = this.#urgent.length > 0 ? this.#urgent.shift()! : this.#takeQueued();
      if (!next) return;
      channel.send(next);
      if (channel.whenDrained && (channel.bufferedAmount ?? 0) > this.#highWater) {
        this.#waiting = true;
        channel.whenDrained(this.#highWater / 2, () => {
          this.#waiting = false;
          this.#pump();
        });
        return;
      }
    }
  }

  #takeQueued(): Uint8Array | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const next = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return next;
  }

  /** Adds a chunk; returns the whole frame's bytes once its last chunk is in. */
  #reassemble(chunk: ChunkFrame): Uint8Array | undefined {
    let partial = this.#partials.get(chunk.id);
    if (!partial) {
      if (chunk.index !== 0) throw new OiafedError('BAD_FRAME', `chunk ${chunk.index} of unknown frame ${chunk.id}`);
      if (!(chunk.count >= 2) || !Number.isInteger(chunk.count)) throw new OiafedError('BAD_FRAME', `chunked frame ${chunk.id} claims ${chunk.count} chunks`);
      if (this.#partials.size >= MAX_PARTIALS) throw new OiafedError('BAD_FRAME', `more than ${MAX_PARTIALS} chunked frames in flight at once`);
      partial = { count: chunk.count, parts: [], bytes: 0 };
      this.#partials.set(chunk.id, partial);
    }
    if (chunk.index !== partial.parts.length || chunk.count !== partial.count) {
      throw new OiafedError('BAD_FRAME', `chunk ${chunk.index}/${chunk.count} of frame ${chunk.id} out of order`);
    }
    partial.bytes += chunk.data.byteLength;
    if (partial.bytes > this.#codec.maxFrameBytes) {
      throw new OiafedError('PAYLOAD_TOO_LARGE', `chunked frame ${chunk.id} exceeds the limit of ${this.#codec.maxFrameBytes} bytes`);
    }
    partial.parts.push(chunk.data);
    if (partial.parts.length < partial.count) return undefined;
    this.#partials.delete(chunk.id);
    const whole = new Uint8Array(partial.bytes);
    let at = 0;
    for (const part of partial.parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    return whole;
  }
}
