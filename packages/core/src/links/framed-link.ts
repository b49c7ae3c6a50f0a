import { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import { assertWireSafe } from '../wire/wire-safe.js';
import { FrameReader, type FrameReaderEvents } from './frame-reader.js';
import { FrameWriter } from './frame-writer.js';
import type { ByteChannel, Link, LinkHandlers } from './link.js';
import type { LinkLimits } from './limits.js';

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

/** How LinkEvents reaches the private parts of its link (set once, by FramedLink's static block). */
let reach: {
  handlers(link: FramedLink): LinkHandlers | undefined;
  writer(link: FramedLink): FrameWriter;
  fail(link: FramedLink, error: unknown): void;
  shut(link: FramedLink, reason: string): void;
};

/**
 * Turns a byte channel into a link: every frame through the codec, every size limit checked,
 * large frames chunked, and writes paced by the channel's buffer where it reports one.
 *
 * Memory is bounded in bytes on both sides: what arrives by the FrameReader (a hello's worth
 * before `established()`, then per-link and shared budgets for the frames still arriving), what
 * waits to go out by the FrameWriter (`outboundBytes`, beyond which the link is closed OVERLOADED).
 * This class is the link that wires them to the channel, and its lifecycle.
 */
export class FramedLink implements Link {
  static {
    reach = {
      handlers: (link) => link.#handlers,
      writer: (link) => link.#writer,
      fail: (link, error) => link.#fail(error),
      shut: (link, reason) => link.#shut(reason),
    };
  }

  readonly #channel: ByteChannel;
  readonly #strict: boolean;
  readonly #writer: FrameWriter;
  readonly #reader: FrameReader;
  #handlers: LinkHandlers | undefined;
  #closing = false;
  #closeReported = false;

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    const codec =
      options.codec ??
      new Codec(options.maxDecodedBytes === undefined ? {} : { maxDecodedBytes: options.maxDecodedBytes });
    this.#strict = options.strict ?? false;
    const events = new LinkEvents(this);
    this.#writer = new FrameWriter(channel, codec, options, events);
    this.#reader = new FrameReader(channel, codec, options, events);
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  /** Bytes received from the channel: every message as it arrived, before decoding. */
  get bytesIn(): number {
    return this.#reader.bytesIn;
  }

  /** Bytes handed to the channel: encoded frames, chunks and attachments, as sent. */
  get bytesOut(): number {
    return this.#writer.bytesOut;
  }

  /** The handshake is done: the peer may now send chunks, attachments and messages up to the channel's limit. */
  established(): void {
    this.#reader.established();
  }

  send(frame: Envelope): void {
    if (this.#channel.closed || this.#closing) throw new OiafedError('DISCONNECTED', 'link is closed');
    if (this.#strict) assertWireSafe(frame);
    // The heartbeat pings every link once an interval. While this one waits for room, the peer's
    // silence is ours (we stopped reading it): each ping counts it as heard.
    if (this.#reader.waitingForRoom && frame.kind === 'ping') this.#handlers?.heard?.();
    this.#writer.send(frame);
  }

  listen(handlers: LinkHandlers): void {
    this.#handlers = handlers;
    this.#writer.announceLimits();
    this.#channel.listen({
      progress: (arriving = 0) => this.#reader.progress(arriving),
      data: (bytes) => this.#reader.receive(bytes),
      error: (error) => this.#fail(error),
      close: (reason) => this.#closed(reason),
    });
  }

  close(reason?: string): void {
    this.#closing = true;
    this.#writer.close();
    this.#reader.close();
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

  /** Lets go of everything held for the peer, both ways, and of its share of the budget; says so once. */
  #closed(reason: string): void {
    if (this.#closeReported) return;
    this.#closeReported = true;
    this.#writer.drop();
    this.#reader.drop();
    this.#handlers?.close(reason);
  }

  #fail(error: unknown): void {
    const typed = asOiafedError(error, 'reading a frame');
    if (this.#handlers?.error) this.#handlers.error(typed);
    else this.#shut(`${typed.code}: ${typed.message}`);
  }
}

/**
 * What a link's reader and writer tell it, as one object whose methods live on the prototype: a
 * closure per event cost each link a few hundred bytes, and a server holds thousands of links.
 */
class LinkEvents implements FrameReaderEvents {
  readonly #link: FramedLink;

  constructor(link: FramedLink) {
    this.#link = link;
  }

  frame(frame: Envelope): void {
    reach.handlers(this.#link)!.frame(frame);
  }

  heard(): void {
    reach.handlers(this.#link)?.heard?.();
  }

  peerTakes(maxMessage: number): void {
    reach.writer(this.#link).peerTakes(maxMessage);
  }

  fail(error: unknown): void {
    reach.fail(this.#link, error);
  }

  shut(reason: string): void {
    reach.shut(this.#link, reason);
  }
}
