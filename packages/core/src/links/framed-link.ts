import { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import { assertWireSafe } from '../wire/wire-safe.js';
import { FrameReader } from './frame-reader.js';
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
  readonly #channel: ByteChannel;
  readonly #strict: boolean;
  readonly #writer: FrameWriter;
  readonly #reader: FrameReader;
  #handlers: LinkHandlers | undefined;
  #closing = false;
  #closeReported = false;

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    const codec = options.codec ?? new Codec();
    this.#strict = options.strict ?? false;
    this.#writer = new FrameWriter(channel, codec, options, (reason) => this.#shut(reason));
    this.#reader = new FrameReader(channel, codec, options, {
      frame: (frame) => this.#handlers!.frame(frame),
      heard: () => this.#handlers?.heard?.(),
      peerTakes: (maxMessage) => this.#writer.peerTakes(maxMessage),
      fail: (error) => this.#fail(error),
    });
  }

  get closed(): boolean {
    return this.#channel.closed;
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
