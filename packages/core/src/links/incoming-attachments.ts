import { restoreAttachments } from '../wire/attachments.js';
import type { AttachedFrame, Envelope } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';

/**
 * The attachments of an attached frame as their bytes arrive, each put in place in memory of its
 * own. The header's sizes and types are checked (`checkAttachments`) before this is made; what a
 * peer sends beyond an announced size is refused here.
 */
export class IncomingAttachments {
  /** All attachments together: announced, and arrived so far. */
  readonly total: number;
  #received = 0;
  readonly #header: AttachedFrame;
  /** Allocated when an attachment's first bytes arrive, unless they are all of it (then taken as they are). */
  readonly #buffers: (Uint8Array | undefined)[] = [];
  #which = 0;
  #filled = 0;
  readonly #allocate: ((bytes: number) => Uint8Array) | undefined;
  /** Every message arrives in memory of its own (see ByteChannel.ownsReceived). */
  readonly #ownsReceived: boolean;

  constructor(
    header: AttachedFrame,
    allocate: ((bytes: number) => Uint8Array) | undefined,
    ownsReceived: boolean,
  ) {
    this.#header = header;
    this.#allocate = allocate;
    this.#ownsReceived = ownsReceived;
    let total = 0;
    for (const size of header.sizes) total += size;
    this.total = total;
    this.#skipFull();
  }

  get received(): number {
    return this.#received;
  }

  /** Every attachment is in: `frame()` may be called. */
  get complete(): boolean {
    return this.#which === this.#header.sizes.length;
  }

  /** Puts an attachment slice in place. */
  fill(bytes: Uint8Array): void {
    const size = this.#header.sizes[this.#which]!;
    if (bytes.byteLength > size - this.#filled) {
      throw new OiafedError('BAD_FRAME', `attachment ${this.#which} overflows its announced ${size} bytes`);
    }
    if (
      this.#filled === 0 &&
      bytes.byteLength === size &&
      this.#ownsReceived &&
      bytes.byteOffset === 0 &&
      bytes.buffer.byteLength === size
    ) {
      // All of it in one message that owns its memory: handed on as it is, without a copy.
      this.#buffers[this.#which] = bytes;
    } else {
      const target = (this.#buffers[this.#which] ??= this.#allocate
        ? this.#allocate(size)
        : new Uint8Array(size));
      target.set(bytes, this.#filled);
    }
    this.#filled += bytes.byteLength;
    this.#received += bytes.byteLength;
    this.#skipFull();
  }

  /** The frame with its attachments in place, once `complete`. */
  frame(): Envelope {
    const { frame, types } = this.#header;
    return restoreAttachments(frame, this.#buffers as Uint8Array[], types);
  }

  /** Moves past attachments complete (or empty). */
  #skipFull(): void {
    const sizes = this.#header.sizes;
    while (this.#which < sizes.length && this.#filled === sizes[this.#which]) {
      this.#buffers[this.#which] ??= new Uint8Array(0);
      this.#which += 1;
      this.#filled = 0;
    }
  }
}
