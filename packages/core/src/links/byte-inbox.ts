import { OiafedError } from '../wire/errors.js';
import type { ByteHandlers } from './link.js';
import { Inbox } from './inbox.js';

/**
 * The receiving half of a platform byte channel: turns what the platform delivers into bytes,
 * keeps them (and the close) until the channel's one listener arrives, and reports the close once.
 */
export class ByteInbox {
  #handlers: ByteHandlers | undefined;
  readonly #inbox = new Inbox<Uint8Array>();

  /** Why the channel closed, once it has. */
  get closedWith(): string | undefined {
    return this.#inbox.closedWith;
  }

  /**
   * An ArrayBuffer or a view is taken as it is (no copy); anything else is a BAD_FRAME. A
   * Uint8Array, or a subclass such as Node's Buffer, is passed on as it came: making a fresh view
   * of each message was a measurable part of a small call.
   */
  receive(data: unknown): void {
    const bytes =
      data instanceof Uint8Array
        ? data
        : data instanceof ArrayBuffer
          ? new Uint8Array(data)
          : ArrayBuffer.isView(data)
            ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
            : undefined;
    if (!bytes)
      return this.#handlers?.error?.(new OiafedError('BAD_FRAME', 'text message on a binary protocol'));
    this.#inbox.push(bytes);
  }

  /** Part of a message arrived (from platforms that can tell); `arriving`: what is held or due of it. */
  progress(arriving = 0): void {
    this.#handlers?.progress?.(arriving);
  }

  close(reason: string): void {
    this.#inbox.close(reason);
  }

  listen(handlers: ByteHandlers): void {
    this.#handlers = handlers;
    this.#inbox.listen(handlers);
  }
}
