import { extractAttachments, type Extracted } from '../wire/attachments.js';
import type { Codec } from '../wire/codec.js';
import type { AttachedFrame, Envelope } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { ByteChannel } from './link.js';
import { DEFAULT_LIMITS } from './limits.js';

/** The outbound part of FramedLinkOptions (documented there). */
export interface FrameWriterOptions {
  chunkSize?: number;
  highWater?: number;
  outboundBytes?: number;
}

const DEFAULT_CHUNK = 1024 * 1024;
const DEFAULT_HIGH_WATER = 4 * 1024 * 1024;

/** Memory a frame kept past send() may hold beyond twice its own size. */
const PIN_SLACK = 64 * 1024;

/**
 * The codec's output may be a view into a buffer shared with frames encoded after it (msgpackr
 * packs into one buffer until it is full: several MiB once a large frame has passed). Kept for a
 * peer that reads slowly, a small frame would keep all of it alive, uncounted: such a frame is
 * copied into memory of its own before it is kept.
 */
function pinsMore(bytes: Uint8Array): boolean {
  return bytes.buffer.byteLength > 2 * bytes.byteLength + PIN_SLACK;
}

/** (Not `slice()`: on Node's Buffer, which the codec returns there, it is a view.) */
function owned(bytes: Uint8Array): Uint8Array {
  return pinsMore(bytes) ? new Uint8Array(bytes) : bytes;
}

/** Messages that must go out back to back (a frame and its attachments): nothing may come between. */
interface Run {
  parts: Uint8Array[];
  next: number;
}

/**
 * The outbound side of a framed link: frames encoded, large ones cut into chunks (or sent with
 * their typed arrays as raw attachments), pings and pongs ahead of the queue, and writes paced by
 * the channel's buffer where it reports one. Bytes waiting for the peer beyond `outboundBytes`
 * close the link OVERLOADED instead of piling up for a peer that does not read.
 */
export class FrameWriter {
  readonly #channel: ByteChannel;
  readonly #codec: Codec;
  /** Closes the link on its own decision (a peer that reads too slowly). */
  readonly #owner: { shut(reason: string): void };
  /** Messages larger than this are cut: the chunk size, until the peer says what it takes whole. */
  #slice: number;
  /** What the channel itself carries, less room for a chunk frame's header. */
  readonly #sendLimit: number;
  readonly #highWater: number;
  readonly #outboundBytes: number;
  #closing = false;
  /** Pings and pongs: sent before anything queued (but never inside a run). */
  #urgent: Uint8Array[] = [];
  #queue: (Uint8Array | Run)[] = [];
  #head = 0;
  #run: Run | undefined;
  /** Bytes in #urgent, #queue and #run, not yet handed to the channel. */
  #queued = 0;
  #waiting = false;
  #chunkSeq = 0;
  /** Bytes handed to the channel so far: encoded frames, chunks and attachments as they went out. */
  bytesOut = 0;

  constructor(
    channel: ByteChannel,
    codec: Codec,
    options: FrameWriterOptions,
    owner: { shut(reason: string): void },
  ) {
    this.#channel = channel;
    this.#codec = codec;
    this.#owner = owner;
    // Room for the chunk frame's own header within the channel's message limit.
    this.#sendLimit = channel.maxMessageSize === undefined ? Infinity : channel.maxMessageSize - 64;
    this.#slice = Math.max(1024, Math.min(options.chunkSize ?? DEFAULT_CHUNK, this.#sendLimit));
    this.#outboundBytes = options.outboundBytes ?? DEFAULT_LIMITS.outboundBytes;
    // The channel's buffer counts toward outboundBytes: it may hold no more than half of it.
    this.#highWater = Math.min(options.highWater ?? DEFAULT_HIGH_WATER, Math.floor(this.#outboundBytes / 2));
  }

  send(frame: Envelope): void {
    const extracted = extractAttachments(frame);
    if (extracted) return this.#sendAttached(extracted);
    const bytes = this.#codec.encode(frame);
    if (frame.kind === 'ping' || frame.kind === 'pong') {
      this.#admit(bytes.byteLength);
      this.#urgent.push(owned(bytes));
    } else if (bytes.byteLength <= this.#slice) {
      // Most frames: small, and nothing ahead of them (the channel's buffer is below highWater).
      if (!this.#waiting && !this.#run && this.#urgent.length === 0 && this.#head === this.#queue.length) {
        // A socket keeps what it could not write at once: not a view that pins a large buffer.
        return void this.#write(pinsMore(bytes) && this.#channel.bufferedAmount ? owned(bytes) : bytes);
      }
      this.#admit(bytes.byteLength);
      this.#queue.push(owned(bytes));
    } else {
      this.#sendChunked(bytes);
    }
    this.#pump();
  }

  /**
   * Tells a peer whose messages this channel hears as they arrive (Node's `ws`) the largest it
   * takes: liveness no longer needs chunks, so it may send that much whole.
   */
  announceLimits(): void {
    const channel = this.#channel;
    if (channel.reportsProgress && channel.maxMessageSize !== undefined && !channel.closed) {
      const limits = this.#codec.encode({ kind: 'limits', maxMessage: channel.maxMessageSize });
      this.#queued += limits.byteLength;
      this.#urgent.push(limits);
      this.#pump();
    }
  }

  /** The peer's limits frame: it takes messages of up to `maxMessage` bytes whole. */
  peerTakes(maxMessage: number): void {
    // Never above what our own channel carries, nor below a sane minimum.
    this.#slice = Math.max(1024, Math.min(maxMessage - 64, this.#sendLimit, this.#codec.maxFrameBytes));
  }

  /** The link is closing: drops what waits, and writes nothing more. */
  close(): void {
    this.#closing = true;
    this.drop();
  }

  /** Lets go of everything waiting for the peer. */
  drop(): void {
    this.#urgent = [];
    this.#queue = [];
    this.#head = 0;
    this.#run = undefined;
    this.#queued = 0;
  }

  /**
   * Large typed arrays go as raw slices of their own memory: no encoding, no copy here (so, as
   * with ws itself, the sender must not change them until the call settles).
   */
  #sendAttached(extracted: Extracted): void {
    const header: AttachedFrame = {
      kind: 'attached',
      frame: extracted.frame as AttachedFrame['frame'],
      sizes: extracted.attachments.map((a) => a.byteLength),
      types: extracted.types,
    };
    const parts = [owned(this.#codec.encode(header))];
    let bytes = parts[0]!.byteLength;
    for (const array of extracted.attachments) {
      bytes += array.byteLength;
      for (let at = 0; at < array.byteLength; at += this.#slice) {
        parts.push(
          new Uint8Array(array.buffer, array.byteOffset + at, Math.min(this.#slice, array.byteLength - at)),
        );
      }
    }
    this.#admit(bytes);
    this.#queue.push({ parts, next: 0 });
    this.#pump();
  }

  /** An encoded frame larger than a message: queued as chunk frames of `#slice` bytes each. */
  #sendChunked(bytes: Uint8Array): void {
    this.#assertSendable(bytes.byteLength);
    const id = ++this.#chunkSeq;
    const count = Math.ceil(bytes.byteLength / this.#slice);
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (let index = 0; index < count; index++) {
      const data = bytes.subarray(index * this.#slice, (index + 1) * this.#slice);
      const chunk = owned(this.#codec.encode({ kind: 'chunk', id, index, count, data }));
      total += chunk.byteLength;
      chunks.push(chunk);
    }
    this.#admit(total);
    for (const chunk of chunks) this.#queue.push(chunk);
  }

  /**
   * Counts `bytes` about to be queued for the peer. A frame larger than the whole allowance could
   * never be sent: PAYLOAD_TOO_LARGE to the sender. Otherwise, bytes beyond it mean the peer reads
   * slower than it is sent to: the link is closed OVERLOADED rather than buffering for it.
   */
  #admit(bytes: number): void {
    this.#assertSendable(bytes);
    const waiting = this.#queued + (this.#channel.bufferedAmount ?? 0);
    if (waiting + bytes <= this.#outboundBytes) {
      this.#queued += bytes;
      return;
    }
    const message = `${waiting} bytes are still waiting to go to a peer that reads slower than it is sent to (limit ${this.#outboundBytes})`;
    this.#owner.shut(`OVERLOADED: ${message}`);
    throw new OiafedError('OVERLOADED', message);
  }

  #assertSendable(bytes: number): void {
    if (bytes > this.#outboundBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `a frame of ${bytes} bytes exceeds the ${this.#outboundBytes} bytes a link may hold for its peer`,
      );
    }
  }

  /** Writes queued frames until the channel's buffer is full, then waits for it to drain. */
  #pump(): void {
    if (this.#waiting) return;
    while (!this.#channel.closed && !this.#closing) {
      const next = this.#run
        ? this.#fromRun()
        : this.#urgent.length > 0
          ? this.#urgent.shift()!
          : this.#takeQueued();
      if (!next) return;
      this.#queued -= next.byteLength;
      if (!this.#write(next)) return;
    }
  }

  /** Writes one message; false when the channel's buffer is now full and the pump must wait for it. */
  #write(bytes: Uint8Array): boolean {
    const channel = this.#channel;
    channel.send(bytes);
    this.bytesOut += bytes.byteLength;
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
}
