import { checkAttachments } from '../wire/attachments.js';
import type { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { ByteBudget } from './byte-budget.js';
import { ChunkReassembly } from './chunk-reassembly.js';
import { IncomingAttachments } from './incoming-attachments.js';
import type { ByteChannel } from './link.js';
import { DEFAULT_LIMITS } from './limits.js';

/** The inbound part of FramedLinkOptions (documented there and in LinkLimits). */
export interface FrameReaderOptions {
  helloBytes?: number;
  linkPartialBytes?: number;
  linkPartialChunks?: number;
  partialBudget?: ByteBudget;
  allocate?: (bytes: number) => Uint8Array;
}

/** What the reader tells its link. */
export interface FrameReaderEvents {
  /** A whole frame for the node. */
  frame(frame: Envelope): void;
  /** Part of a frame, or a frame of the link's own, arrived: the peer is alive. */
  heard(): void;
  /** The peer's limits frame: it takes messages of up to `maxMessage` bytes whole. */
  peerTakes(maxMessage: number): void;
  /** A message could not be read, or there is no room for it. */
  fail(error: unknown): void;
}

/**
 * The inbound side of a framed link: messages decoded into frames, chunks reassembled,
 * attachments put in place, and memory bounded in bytes. Until `established()` the peer is a
 * stranger: it gets a hello's worth (`helloBytes` per message; no chunks, no attachments). After,
 * the frames still arriving (chunks held, attachments announced, the message the channel is
 * receiving) may take `linkPartialBytes` and `linkPartialChunks`, and draw on a `partialBudget`
 * shared with the server's other links. A link that finds that budget full while holding nothing
 * waits for room, its channel paused (TCP backpressure), where the channel can pause; one that
 * holds bytes already, or cannot pause, is closed OVERLOADED: had it waited with its bytes, every
 * holder could end up waiting on the others.
 */
export class FrameReader {
  readonly #channel: ByteChannel;
  readonly #codec: Codec;
  readonly #events: FrameReaderEvents;
  readonly #allocate: ((bytes: number) => Uint8Array) | undefined;
  readonly #helloBytes: number;
  readonly #partialBytes: number;
  readonly #budget: ByteBudget | undefined;
  readonly #chunks: ChunkReassembly;
  #established = false;
  #closing = false;
  #incoming: IncomingAttachments | undefined;
  /** What the channel says of the message it is receiving now (0 between messages). */
  #arriving = 0;
  /** Taken from the shared budget: what #need() came to when last settled. */
  #held = 0;
  /** Set while waiting for room in the shared budget (the channel paused): stops waiting. */
  #stopWaiting: (() => void) | undefined;
  /** Messages the channel delivered after it was paused (what it had read already). */
  #deferred: Uint8Array[] = [];
  /** Bytes of the messages read so far (a message deferred while paused counts once, when read). */
  bytesIn = 0;

  constructor(channel: ByteChannel, codec: Codec, options: FrameReaderOptions, events: FrameReaderEvents) {
    this.#channel = channel;
    this.#codec = codec;
    this.#events = events;
    this.#allocate = options.allocate;
    this.#helloBytes = options.helloBytes ?? DEFAULT_LIMITS.helloBytes;
    this.#partialBytes = options.linkPartialBytes ?? DEFAULT_LIMITS.linkPartialBytes;
    this.#chunks = new ChunkReassembly(
      options.linkPartialChunks ?? DEFAULT_LIMITS.linkPartialChunks,
      codec.maxFrameBytes,
    );
    this.#budget = options.partialBudget;
    channel.limitIncoming?.(this.#helloBytes);
  }

  /** Waiting for room in the shared budget, the channel paused: the peer's silence is ours. */
  get waitingForRoom(): boolean {
    return this.#stopWaiting !== undefined;
  }

  /** The handshake is done: the peer may now send chunks, attachments and messages up to the channel's limit. */
  established(): void {
    if (this.#established) return;
    this.#established = true;
    if (this.#channel.maxMessageSize !== undefined)
      this.#channel.limitIncoming?.(this.#channel.maxMessageSize);
  }

  /** A whole message from the channel. */
  receive(bytes: Uint8Array): void {
    if (this.#closing) return;
    if (this.#stopWaiting) return void this.#deferred.push(bytes);
    this.bytesIn += bytes.byteLength;
    // Whatever the channel was receiving, this is it, whole.
    this.#arriving = 0;
    let frame: Envelope | undefined;
    try {
      frame = this.#read(bytes);
      if (this.#need() !== this.#held) this.#settle();
    } catch (error) {
      return this.#events.fail(error);
    }
    if (frame) this.#events.frame(frame);
    else this.#events.heard();
  }

  /** Bytes of a message still arriving came in; `arriving` is what the channel holds or expects of it. */
  progress(arriving: number): void {
    this.#events.heard();
    if (arriving === this.#arriving || this.#closing || this.#channel.closed) return;
    this.#arriving = arriving;
    if (this.#stopWaiting) return; // settled once room is granted
    try {
      this.#settle();
    } catch (error) {
      this.#events.fail(error);
    }
  }

  /** The link is closing: lets go of everything held, and reads nothing more. */
  close(): void {
    this.#closing = true;
    this.drop();
  }

  /** Lets go of every frame still arriving, and of this link's share of the budget. */
  drop(): void {
    this.#incoming = undefined;
    this.#chunks.clear();
    this.#arriving = 0;
    this.#deferred = [];
    this.#stopWaiting?.();
    this.#stopWaiting = undefined;
    if (this.#held > 0) this.#budget?.release(this.#held);
    this.#held = 0;
  }

  /** One message: a whole frame, or undefined when it was part of one (or the peer's limits). */
  #read(bytes: Uint8Array): Envelope | undefined {
    if (this.#incoming) {
      this.#incoming.fill(bytes);
      return this.#attached();
    }
    if (!this.#established && bytes.byteLength > this.#helloBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `a message of ${bytes.byteLength} bytes before the handshake (a hello may take ${this.#helloBytes})`,
      );
    }
    const frame = this.#codec.decode(bytes);
    switch (frame.kind) {
      case 'limits':
        this.#events.peerTakes(frame.maxMessage);
        return undefined;
      case 'attached': {
        this.#assertEstablished(frame.kind);
        checkAttachments(frame.sizes, frame.types, Math.min(this.#codec.maxFrameBytes, this.#partialBytes));
        this.#incoming = new IncomingAttachments(frame, this.#allocate, this.#channel.ownsReceived === true);
        return this.#attached();
      }
      case 'chunk': {
        this.#assertEstablished(frame.kind);
        const whole = this.#chunks.add(frame);
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

  /** The attached frame once its last attachment byte is in (no longer held as incoming). */
  #attached(): Envelope | undefined {
    const incoming = this.#incoming!;
    if (!incoming.complete) return undefined;
    this.#incoming = undefined;
    return incoming.frame();
  }

  /**
   * Bytes of frames still arriving: attachments announced (their memory is allocated whole as
   * they start), chunks held, and what the channel is receiving beyond the attachment bytes due.
   */
  #need(): number {
    const incoming = this.#incoming;
    const due = incoming ? incoming.total - incoming.received : 0;
    return (
      (incoming ? incoming.total : 0) + this.#chunks.bytes + (this.#arriving > due ? this.#arriving - due : 0)
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
      return this.#events.fail(error);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- receive can close the link
    while (this.#deferred.length > 0 && !this.#stopWaiting && !this.#closing)
      this.receive(this.#deferred.shift()!);
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- so can #settle and receive
    if (!this.#stopWaiting && !this.#closing) this.#channel.resume?.();
  }
}
