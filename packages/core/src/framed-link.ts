import { checkAttachments, extractAttachments, restoreAttachments } from './attachments.js';
import { Codec } from './codec.js';
import type { AttachedFrame, ChunkFrame, Envelope } from './envelope.js';
import { OiafedError } from './errors.js';
import type { ByteChannel, Link, LinkHandlers } from './link.js';
import { assertWireSafe } from './wire-safe.js';

export interface FramedLinkOptions {
  codec?: Codec;
  /** Refuse values a real wire would mangle (functions, class instances) instead of dropping them. */
  strict?: boolean;
  /**
   * Frames larger than this travel as chunks of this size (default 1 MiB, or the channel's
   * maxMessageSize if smaller). Pings and pongs go between chunks, so a large model in transit
   * never starves the heartbeat, and every chunk that arrives counts as the peer being alive.
   * A peer that hears messages as they arrive (a Node server) announces the largest message it
   * takes, and that size replaces this one for what is sent to it.
   */
  chunkSize?: number;
  /** Stop writing while the channel holds more than this many bytes unsent (default 4 MiB). */
  highWater?: number;
  /**
   * Memory for incoming attachments (large typed arrays), `bytes` long. Default `new Uint8Array`;
   * Node passes `Buffer.allocUnsafeSlow`: zeroing it first is wasted, as every byte is written
   * before the array is handed on, and on a 16 MiB model it costs as much as copying it in.
   */
  allocate?: (bytes: number) => Uint8Array;
}

const DEFAULT_CHUNK = 1024 * 1024;
const DEFAULT_HIGH_WATER = 4 * 1024 * 1024;
/** Large frames being reassembled at once, per link. */
const MAX_PARTIALS = 16;

interface Partial {
  count: number;
  parts: Uint8Array[];
  bytes: number;
}

/** Messages that must go out back to back (a frame and its attachments): nothing may come between. */
interface Run {
  parts: Uint8Array[];
  next: number;
}

/** An attached frame whose attachment bytes are still arriving. */
interface Incoming {
  header: AttachedFrame;
  /** Allocated when an attachment's first bytes arrive, unless they are all of it (then taken as they are). */
  buffers: (Uint8Array | undefined)[];
  which: number;
  filled: number;
}

/**
 * Turns a byte channel into a link: every frame through the codec, every size limit checked,
 * large frames chunked, and writes paced by the channel's buffer where it reports one.
 */
export class FramedLink implements Link {
  readonly #channel: ByteChannel;
  readonly #codec: Codec;
  readonly #strict: boolean;
  /** Messages larger than this are cut: the chunk size, until the peer says what it takes whole. */
  #slice: number;
  /** What the channel itself carries, less room for a chunk frame's header. */
  readonly #sendLimit: number;
  readonly #highWater: number;
  readonly #allocate: ((bytes: number) => Uint8Array) | undefined;
  /** Pings and pongs: sent before anything queued (but never inside a run). */
  #urgent: Uint8Array[] = [];
  #queue: (Uint8Array | Run)[] = [];
  #head = 0;
  #run: Run | undefined;
  #incoming: Incoming | undefined;
  #waiting = false;
  #chunkSeq = 0;
  readonly #partials = new Map<number, Partial>();

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    this.#codec = options.codec ?? new Codec();
    this.#strict = options.strict ?? false;
    // Room for the chunk frame's own header within the channel's message limit.
    this.#sendLimit = channel.maxMessageSize === undefined ? Infinity : channel.maxMessageSize - 64;
    this.#slice = Math.max(1024, Math.min(options.chunkSize ?? DEFAULT_CHUNK, this.#sendLimit));
    this.#highWater = options.highWater ?? DEFAULT_HIGH_WATER;
    this.#allocate = options.allocate;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  send(frame: Envelope): void {
    if (this.#channel.closed) throw new OiafedError('DISCONNECTED', 'link is closed');
    if (this.#strict) assertWireSafe(frame);
    const extracted = extractAttachments(frame);
    if (extracted) {
      // Large typed arrays go as raw slices of their own memory: no encoding, no copy here (so,
      // as with ws itself, the sender must not change them until the call settles).
      const header: AttachedFrame = { kind: 'attached', frame: extracted.frame as AttachedFrame['frame'], sizes: extracted.attachments.map((a) => a.byteLength), types: extracted.types };
      const parts = [this.#codec.encode(header)];
      for (const array of extracted.attachments) {
        for (let at = 0; at < array.byteLength; at += this.#slice) {
          parts.push(new Uint8Array(array.buffer, array.byteOffset + at, Math.min(this.#slice, array.byteLength - at)));
        }
      }
      this.#queue.push({ parts, next: 0 });
      return this.#pump();
    }
    const bytes = this.#codec.encode(frame);
    if (frame.kind === 'ping' || frame.kind === 'pong') this.#urgent.push(bytes);
    else if (bytes.byteLength <= this.#slice) {
      // Most frames: small, and nothing ahead of them.
      if (!this.#waiting && !this.#run && this.#urgent.length === 0 && this.#head === this.#queue.length) return void this.#write(bytes);
      this.#queue.push(bytes);
    }
    else {
      const id = ++this.#chunkSeq;
      const count = Math.ceil(bytes.byteLength / this.#slice);
      for (let index = 0; index < count; index++) {
        const data = bytes.subarray(index * this.#slice, (index + 1) * this.#slice);
        this.#queue.push(this.#codec.encode({ kind: 'chunk', id, index, count, data }));
      }
    }
    this.#pump();
  }

  listen(handlers: LinkHandlers): void {
    const fail = (error: OiafedError) => (handlers.error ? handlers.error(error) : this.close(error.message));
    const channel = this.#channel;
    if (channel.reportsProgress && channel.maxMessageSize !== undefined && !channel.closed) {
      this.#urgent.push(this.#codec.encode({ kind: 'limits', maxMessage: channel.maxMessageSize }));
      this.#pump();
    }
    channel.listen({
      ...(handlers.heard ? { progress: handlers.heard } : {}),
      data: (bytes) => {
        let frame: Envelope;
        try {
          if (this.#incoming) {
            const whole = this.#fill(bytes);
            if (!whole) return handlers.heard?.();
            return handlers.frame(whole);
          }
          frame = this.#codec.decode(bytes);
          if (frame.kind === 'limits') {
            // Never above what our own channel carries, nor below a sane minimum.
            this.#slice = Math.max(1024, Math.min(frame.maxMessage - 64, this.#sendLimit, this.#codec.maxFrameBytes));
            return handlers.heard?.();
          }
          if (frame.kind === 'attached') {
            checkAttachments(frame.sizes, frame.types, this.#codec.maxFrameBytes);
            this.#incoming = { header: frame, buffers: [], which: 0, filled: 0 };
            const whole = this.#skipFull();
            if (!whole) return handlers.heard?.();
            return handlers.frame(whole);
          }
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
        this.#run = undefined;
        this.#incoming = undefined;
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
    while (!this.#channel.closed) {
      const next = this.#run ? this.#fromRun() : this.#urgent.length > 0 ? this.#urgent.shift()! : this.#takeQueued();
      if (!next || !this.#write(next)) return;
    }
  }

  /** Writes one message; false when the channel's buffer is now full and the pump must wait for it. */
  #write(bytes: Uint8Array): boolean {
    const channel = this.#channel;
    channel.send(bytes);
    if (!channel.whenDrained || (channel.bufferedAmount ?? 0) <= this.#highWater) return true;
    this.#waiting = true;
    channel.whenDrained(this.#highWater / 2, () => {
      this.#waiting = false;
      this.#pump();
    });
    return false;
  }

  #takeQueued(): Uint8Array | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const next = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined as never;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    if (next instanceof Uint8Array) return next;
    this.#run = next;
    return this.#fromRun();
  }

  #fromRun(): Uint8Array {
    const run = this.#run!;
    const part = run.parts[run.next]!;
    run.parts[run.next++] = undefined as never;
    if (run.next === run.parts.length) this.#run = undefined;
    return part;
  }

  /** Puts an attachment slice in place; returns the whole frame once the last byte is in. */
  #fill(bytes: Uint8Array): Envelope | undefined {
    const incoming = this.#incoming!;
    const size = incoming.header.sizes[incoming.which]!;
    if (bytes.byteLength > size - incoming.filled) {
      throw new OiafedError('BAD_FRAME', `attachment ${incoming.which} overflows its announced ${size} bytes`);
    }
    if (incoming.filled === 0 && bytes.byteLength === size && this.#channel.ownsReceived && bytes.byteOffset === 0 && bytes.buffer.byteLength === size) {
      // All of it in one message that owns its memory: handed on as it is, without a copy.
      incoming.buffers[incoming.which] = bytes;
    } else {
      const target = (incoming.buffers[incoming.which] ??= this.#allocate ? this.#allocate(size) : new Uint8Array(size));
      target.set(bytes, incoming.filled);
    }
    incoming.filled += bytes.byteLength;
    return this.#skipFull();
  }

  /** Moves past attachments complete (or empty); once all are, clears #incoming and returns the frame. */
  #skipFull(): Envelope | undefined {
    const incoming = this.#incoming!;
    const { sizes, types, frame } = incoming.header;
    while (incoming.which < sizes.length && incoming.filled === sizes[incoming.which]) {
      incoming.buffers[incoming.which] ??= new Uint8Array(0);
      incoming.which += 1;
      incoming.filled = 0;
    }
    if (incoming.which < sizes.length) return undefined;
    this.#incoming = undefined;
    return restoreAttachments(frame, incoming.buffers as Uint8Array[], types);
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
