import { Codec } from './codec.js';
import type { Envelope } from './envelope.js';
import { OiafedError } from './errors.js';
import type { ByteChannel, Link, LinkHandlers } from './link.js';
import { assertWireSafe } from './wire-safe.js';

export interface FramedLinkOptions {
  codec?: Codec;
  /** Refuse values a real wire would mangle (functions, class instances) instead of dropping them. */
  strict?: boolean;
}

/** Turns a byte channel into a link: every frame through the codec, every size limit checked. */
export class FramedLink implements Link {
  readonly #channel: ByteChannel;
  readonly #codec: Codec;
  readonly #strict: boolean;

  constructor(channel: ByteChannel, options: FramedLinkOptions = {}) {
    this.#channel = channel;
    this.#codec = options.codec ?? new Codec();
    this.#strict = options.strict ?? false;
  }

  get closed(): boolean {
    return this.#channel.closed;
  }

  send(frame: Envelope): void {
    if (this.#channel.closed) throw new OiafedError('DISCONNECTED', 'link is closed');
    if (this.#strict) assertWireSafe(frame);
    this.#channel.send(this.#codec.encode(frame));
  }

  listen(handlers: LinkHandlers): void {
    this.#channel.listen({
      data: (bytes) => {
        let frame: Envelope;
        try {
          frame = this.#codec.decode(bytes);
        } catch (error) {
          if (handlers.error) handlers.error(error as OiafedError);
          else this.close((error as OiafedError).message);
          return;
        }
        handlers.frame(frame);
      },
      close: (reason) => handlers.close(reason),
    });
  }

  close(reason?: string): void {
    this.#channel.close(reason);
  }
}
