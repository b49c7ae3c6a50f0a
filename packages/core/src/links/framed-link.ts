import { checkAttachments, extractAttachments, restoreAttachments } from '../wire/attachments.js';
import type { ByteBudget } from './byte-budget.js';
import type { LinkLimits } from './limits.js';
import { Codec } from '../wire/codec.js';
import { DEFAULT_LIMITS } from './limits.js';
import type { AttachedFrame, ChunkFrame, Envelope } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import type { ByteChannel, Link, LinkHandlers } from './link.js';
import { assertWireSafe } from '../wire/wire-safe.js';

export interface FramedLinkOptions extends LinkLimits {
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
  /**
   * Stop writing while the channel holds more than this many bytes unsent (default 4 MiB, at most half of
   * outboundBytes).
   */
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
const LIMITS = DEFAULT_LIMITS;

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
  /** All attachments together: announced, and arrived so far. */
  total: number;
  received: number;
}

/**
 * Turns a byte channel into a link: every frame through the codec, every size limit checked,
 * large frames chunked, and writes paced by the channel's buffer where it reports one.
 *
 * Memory is bounded in bytes on both sides. Until `established()` the peer is a stranger: it gets
 * a hello's worth (`helloBytes` per message; no chunks, no attachments). After, the frames still
 * arriving (chunks held, attachments announced, the message the channel is receiving) may take
 * `linkPartialBytes` and `linkPartialChunks`, and draw on a `partialBudget` shared with the
 * server's other links. A link that finds that budget full while holding nothing waits for room,
 * its channel paused (TCP backpressure), where the channel can pause; one that holds bytes already,
 * or cannot pause, is closed OVERLOADED: had it waited with its bytes, every holder could end up
 * waiting on the others. Outbound, bytes waiting for the peer beyond `outboundBytes` close the
 * link OVERLOADED instead of piling up for a peer that does not read.
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
  readonly #helloBytes: number;
  readonly #partialBytes: number;
  readonly #partialChunks: number;
  readonly #budget: ByteBudget | undefined;
  readonly #outboundBytes: number;
  #handlers: LinkHandlers | undefined;
  #established = false;
  #closing = false;
  #closeReported = false;

  // Outbound.
  /** Pings and pongs: sent before anything queued (but never inside a run). */
  #urgent: Uint8Array[] = [];
  #queue: (Uint8Array | Run)[] = [];
  #head = 0;
  #run: Run | undefined;
  /** Bytes in #urgent, #queue and #run, not yet handed to the channel. */
  #queued = 0;
  #waiting = false;
  #chunkSeq = 0;

  // Inbound.
  #incoming: Incoming | undefined;
  readonly #partials = new Map<number, Partial>();
  #chunks = 0;
  #chunkBytes = 0;
  /** What the channel says of the message it is receiving now (0 between messages). */
  #arriving = 0;
  /** Taken from the shared budget: what #need() came to when last settled. */
  #held = 0;
  /** Set while waiting for room in the shared budget (the channel paused): stops waiting. */
  #stopWaiting: (() => void) | undefined;
  /** Messages the channel delivered after it was paused (what it had read already). */
  #deferred: Uint8Array[] = [];

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    this.#codec = options.codec ?? new Codec();
    this.#strict = options.strict ?? false;
    // Room for the chunk frame's own header within the channel's message limit.
    this.#sendLimit = channel.maxMessageSize === undefined ? Infinity : channel.maxMessageSize - 64;
    this.#slice = Math.max(1024, Math.min(options.chunkSize ?? DEFAULT_CHUNK, this.#sendLimit));
    this.#outboundBytes = options.outboundBytes ?? LIMITS.outboundBytes;
    // The channel's buffer counts toward outboundBytes: it may hold no more than half of it.
    this.#highWater = Math.min(options.highWater ?? DEFAULT_HIGH_WATER, Math.floor(this.#outboundBytes / 2));
    this.#allocate = options.allocate;
    this.#helloBytes = options.helloBytes ?? LIMITS.helloBytes;
    this.#partialBytes = options.linkPartialBytes ?? LIMITS.linkPartialBytes;
    this.#partialChunks = options.linkPartialChunks ?? LIMITS.linkPartialChunks;
    this.#budget = options.partialBudget;
    channel.limitIncoming?.(this.#helloBytes);
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  /** The handshake is done: the peer may now send chunks, attachments and messages up to the channel's limit. */
  established(): void {
    if (this.#established) return;
    this.#established = true;
    if (this.#channel.maxMessageSize !== undefined)
      this.#channel.limitIncoming?.(this.#channel.maxMessageSize);
  }

  send(frame: Envelope): void {
    if (this.#channel.closed || this.#closing) throw new OiafedError('DISCONNECTED', 'link is closed');
    if (this.#strict) assertWireSafe(frame);
    // The heartbeat pings every link once an interval. While this one waits for room, the peer's
    // silence is ours (we stopped reading it): each ping counts it as heard.
    if (this.#stopWaiting && frame.kind === 'ping') this.#handlers?.heard?.();
    const extracted = extractAttachments(frame);
    if (extracted) {
      // Large typed arrays go as raw slices of their own memory: no encoding, no copy here (so,
      // as with ws itself, the sender must not change them until the call settles).
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
      return this.#pump();
    }
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
    this.#pump();
  }

  listen(handlers: LinkHandlers): void {
    this.#handlers = handlers;
    const channel = this.#channel;
    if (channel.reportsProgress && channel.maxMessageSize !== undefined && !channel.closed) {
      const limits = this.#codec.encode({ kind: 'limits', maxMessage: channel.maxMessageSize });
      this.#queued += limits.byteLength;
      this.#urgent.push(limits);
      this.#pump();
    }
    channel.listen({
      progress: (arriving = 0) => this.#progress(arriving),
      data: (bytes) => this.#receive(bytes),
      error: (error) => this.#fail(error),
      close: (reason) => this.#closed(reason),
    });
  }

  close(reason?: string): void {
    this.#closing = true;
    this.#dropState();
    this.#channel.close(reason);
  }

  /**
   * Closes the link on its own decision, and says so at once (after the current call returns):
   * a socket's close event may wait for a peer that does not read, up to ws's 30 s close timeout.
   */
  #shut(reason: string): void {
    this.close(reason);
    queueMicrotask(() => this.#closed(reason));
  }

  #closed(reason: string): void {
    if (this.#closeReported) return;
    this.#closeReported = true;
    this.#dropState();
    this.#handlers?.close(reason);
  }

  #fail(error: unknown): void {
    const typed = asOiafedError(error, 'reading a frame');
    if (this.#handlers?.error) this.#handlers.error(typed);
    else this.#shut(`${typed.code}: ${typed.message}`);
  }

  /** Lets go of everything held for the peer, both ways, and of its share of the budget. */
  #dropState(): void {
    this.#urgent = [];
    this.#queue = [];
    this.#head = 0;
    this.#run = undefined;
    this.#queued = 0;
    this.#incoming = undefined;
    this.#partials.clear();
    this.#chunks = 0;
    this.#chunkBytes = 0;
    this.#arriving = 0;
    this.#deferred = [];
    this.#stopWaiting?.();
    this.#stopWaiting = undefined;
    if (this.#held > 0) this.#budget?.release(this.#held);
    this.#held = 0;
  }

  // ---- outbound ------------------------------------------------------------------------------

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
    this.#shut(`OVERLOADED: ${message}`);
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

  // ---- inbound -------------------------------------------------------------------------------

  #receive(bytes: Uint8Array): void {
    if (this.#closing) return;
    if (this.#stopWaiting) return void this.#deferred.push(bytes);
    // Whatever the channel was receiving, this is it, whole.
    this.#arriving = 0;
    let frame: Envelope | undefined;
    try {
      frame = this.#read(bytes);
      if (this.#need() !== this.#held) this.#settle();
    } catch (error) {
      return this.#fail(error);
    }
    if (frame) this.#handlers!.frame(frame);
    else this.#handlers!.heard?.();
  }

  /** Bytes of a message still arriving came in; `arriving` is what the channel holds or expects of it. */
  #progress(arriving: number): void {
    this.#handlers?.heard?.();
    if (arriving === this.#arriving || this.#closing || this.#channel.closed) return;
    this.#arriving = arriving;
    if (this.#stopWaiting) return; // settled once room is granted
    try {
      this.#settle();
    } catch (error) {
      this.#fail(error);
    }
  }

  /** One message: a whole frame, or undefined when it was part of one (or the peer's limits). */
  #read(bytes: Uint8Array): Envelope | undefined {
    if (this.#incoming) return this.#fill(bytes);
    if (!this.#established && bytes.byteLength > this.#helloBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `a message of ${bytes.byteLength} bytes before the handshake (a hello may take ${this.#helloBytes})`,
      );
    }
    const frame = this.#codec.decode(bytes);
    switch (frame.kind) {
      case 'limits':
        // Never above what our own channel carries, nor below a sane minimum.
        this.#slice = Math.max(
          1024,
          Math.min(frame.maxMessage - 64, this.#sendLimit, this.#codec.maxFrameBytes),
        );
        return undefined;
      case 'attached': {
        this.#assertEstablished(frame.kind);
        checkAttachments(frame.sizes, frame.types, Math.min(this.#codec.maxFrameBytes, this.#partialBytes));
        let total = 0;
        for (const size of frame.sizes) total += size;
        this.#incoming = { header: frame, buffers: [], which: 0, filled: 0, total, received: 0 };
        return this.#skipFull();
      }
      case 'chunk': {
        this.#assertEstablished(frame.kind);
        const whole = this.#reassemble(frame);
        return whole && this.#codec.decode(whole);
      }
      default:
        return frame;
    }
  }

  #assertEstablished(kind: string): void {
    if (!this.#established)
      throw new OiafedError(
        'BAD_FRAME',
        `${kind} frame before the handshake: a stranger may send only a hello`,
      );
  }

  /**
   * Bytes of frames still arriving: attachments announced (their memory is allocated whole as
   * they start), chunks held, and what the channel is receiving beyond the attachment bytes due.
   */
  #need(): number {
    const incoming = this.#incoming;
    const due = incoming ? incoming.total - incoming.received : 0;
    return (
      (incoming ? incoming.total : 0) + this.#chunkBytes + (this.#arriving > due ? this.#arriving - due : 0)
    );
  }

  /** Brings this link's share of the budget to what it needs now; throws when it may not have it. */
  #settle(): void {
    const need = this.#need();
    if (need > this.#partialBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `${need} bytes of frames arriving at once exceed this link's ${this.#partialBytes}`,
      );
    }
    const more = need - this.#held;
    const budget = this.#budget;
    if (!budget || more <= 0) {
      if (more < 0) budget?.release(-more);
      this.#held = need;
      return;
    }
    if (budget.take(more)) {
      this.#held = need;
      return;
    }
    const channel = this.#channel;
    if (this.#held > 0 || !channel.pause || more > budget.limit) {
      throw new OiafedError(
        'OVERLOADED',
        `no room for ${more} more bytes arriving: ${budget.used} of ${budget.limit} are held by all links`,
      );
    }
    channel.pause();
    this.#stopWaiting = budget.wait(more, () => {
      this.#stopWaiting = undefined;
      this.#held += more;
      this.#continue();
    });
  }

  /** Room was granted: reads what came while waiting, then the channel again. */
  #continue(): void {
    if (this.#closing || this.#channel.closed) return;
    try {
      if (this.#need() !== this.#held) this.#settle();
    } catch (error) {
      return this.#fail(error);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- #receive can close the link
    while (this.#deferred.length > 0 && !this.#stopWaiting && !this.#closing)
      this.#receive(this.#deferred.shift()!);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- so can #settle and #receive
    if (!this.#stopWaiting && !this.#closing) this.#channel.resume?.();
  }

  /** Puts an attachment slice in place; returns the whole frame once the last byte is in. */
  #fill(bytes: Uint8Array): Envelope | undefined {
    const incoming = this.#incoming!;
    const size = incoming.header.sizes[incoming.which]!;
    if (bytes.byteLength > size - incoming.filled) {
      throw new OiafedError(
        'BAD_FRAME',
        `attachment ${incoming.which} overflows its announced ${size} bytes`,
      );
    }
    if (
      incoming.filled === 0 &&
      bytes.byteLength === size &&
      this.#channel.ownsReceived &&
      bytes.byteOffset === 0 &&
      bytes.buffer.byteLength === size
    ) {
      // All of it in one message that owns its memory: handed on as it is, without a copy.
      incoming.buffers[incoming.which] = bytes;
    } else {
      const target = (incoming.buffers[incoming.which] ??= this.#allocate
        ? this.#allocate(size)
        : new Uint8Array(size));
      target.set(bytes, incoming.filled);
    }
    incoming.filled += bytes.byteLength;
    incoming.received += bytes.byteLength;
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
      if (chunk.index !== 0)
        throw new OiafedError('BAD_FRAME', `chunk ${chunk.index} of unknown frame ${chunk.id}`);
      if (!(chunk.count >= 2) || !Number.isInteger(chunk.count))
        throw new OiafedError('BAD_FRAME', `chunked frame ${chunk.id} claims ${chunk.count} chunks`);
      if (chunk.count > this.#partialChunks)
        throw new OiafedError(
          'PAYLOAD_TOO_LARGE',
          `chunked frame ${chunk.id} claims ${chunk.count} chunks; a link holds at most ${this.#partialChunks}`,
        );
      if (this.#partials.size >= MAX_PARTIALS)
        throw new OiafedError('BAD_FRAME', `more than ${MAX_PARTIALS} chunked frames in flight at once`);
      partial = { count: chunk.count, parts: [], bytes: 0 };
      this.#partials.set(chunk.id, partial);
    }
    if (chunk.index !== partial.parts.length || chunk.count !== partial.count) {
      throw new OiafedError(
        'BAD_FRAME',
        `chunk ${chunk.index}/${chunk.count} of frame ${chunk.id} out of order`,
      );
    }
    // Counted by number too: an empty chunk costs memory all the same.
    if (this.#chunks >= this.#partialChunks)
      throw new OiafedError('PAYLOAD_TOO_LARGE', `more than ${this.#partialChunks} chunks held at once`);
    partial.bytes += chunk.data.byteLength;
    if (partial.bytes > this.#codec.maxFrameBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `chunked frame ${chunk.id} exceeds the limit of ${this.#codec.maxFrameBytes} bytes`,
      );
    }
    partial.parts.push(chunk.data);
    this.#chunks += 1;
    this.#chunkBytes += chunk.data.byteLength;
    if (partial.parts.length < partial.count) return undefined;
    this.#partials.delete(chunk.id);
    this.#chunks -= partial.count;
    this.#chunkBytes -= partial.bytes;
    const whole = new Uint8Array(partial.bytes);
    let at = 0;
    for (const part of partial.parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    return whole;
  }
}
