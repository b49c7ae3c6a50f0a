import { OiafedError } from '../wire/errors.js';
import type { ByteHandlers } from './link.js';

/**
 * The receiving half of a platform byte channel: turns what the platform delivers into bytes,
 * keeps them (and the close) until the channel's one listener arrives, and reports the close once.
 */
export class ByteInbox {
  #handlers: ByteHandlers | undefined;
  #backlog: Uint8Array[] = [];
  #closedWith: string | undefined;

  /** Why the channel closed, once it has. */
  get closedWith(): string | undefined {
    return this.#closedWith;
  }

  /**
   * An ArrayBuffer or a view is taken as it is (no copy); anything else is a BAD_FRAME. A
   * Uint8Array, or a subclass such as Node's Buffer, is passed on as it came: making a fresh view
   * of each message was a measurable part of a small call.
   */
  receive(data: unknown): void {
    const bytes =
      data instanceof Uint8Array ? data : data instanceof ArrayBuffer ? new Uint8Array(data) : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : undefined;
    if (!bytes) return this.#handlers?.error?.(new OiafedError('BAD_FRAME', 'text message on a binary protocol'));
    if (this.#handlers) this.#handlers.data(bytes);
    else this.#backlog.push(bytes);
  }

  /** Part of a message arrived (from platforms that can tell); `arriving`: what is held or due of it. */
  progress(arriving = 0): void {
    this.#handlers?.progress?.(arriving);
  }

  close(reason: string): void {
    if (this.#closedWith !== undefined) return;
    this.#closedWith = reason;
    this.#handlers?.close(reason);
  }

  listen(handlers: ByteHandlers): void {
    this.#handlers = handlers;
    for (const bytes of this.#backlog.splice(0)) handlers.data(bytes);
    if (this.#closedWith !== undefined) handlers.close(this.#closedWith);
  }
}
