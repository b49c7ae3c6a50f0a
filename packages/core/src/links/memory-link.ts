import type { Codec } from '../wire/codec.js';
import type { Envelope } from '../wire/envelope.js';
import { FramedLink } from './framed-link.js';
import type { Link, LinkHandlers } from './link.js';
import { MemoryPort } from './memory-channel.js';

export interface MemoryLinkOptions {
  /**
   * Run every frame through the codec, as a real wire would: payloads that could not cross
   * (functions, class instances) fail at the sender, and the receiver gets copies.
   */
  strict?: boolean;
  codec?: Codec;
  /** Keep what each end sent in `link.sent`, so tests can check order. */
  record?: boolean;
}

/** A link whose frames are handed over as objects, in order, one microtask later. */
export class MemoryLink implements Link {
  readonly #port: MemoryPort<Envelope>;

  constructor(port: MemoryPort<Envelope>) {
    this.#port = port;
  }

  get closed(): boolean {
    return this.#port.closed;
  }

  /** Frames this end sent (only when the pair was made with `record: true`). */
  get sent(): readonly Envelope[] | undefined {
    return this.#port.sent;
  }

  send(frame: Envelope): void {
    this.#port.send(frame);
  }

  listen(handlers: LinkHandlers): void {
    // The handlers as they are, not wrapped: a tab simulating thousands of learners pays for every closure.
    this.#port.listen({ data: handlers.frame, close: handlers.close });
  }

  close(reason?: string): void {
    this.#port.close(reason);
  }
}

/** Two connected in-memory links: what one sends, the other receives. */
export function memoryLinkPair(options: MemoryLinkOptions = {}): [Link, Link] {
  if (options.strict) {
    const [a, b] = MemoryPort.pair<Uint8Array>(options.record);
    const framed = { codec: options.codec, strict: true };
    return [new FramedLink(a, framed), new FramedLink(b, framed)];
  }
  const [a, b] = MemoryPort.pair<Envelope>(options.record);
  return [new MemoryLink(a), new MemoryLink(b)];
}
