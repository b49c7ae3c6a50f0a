import type { ChunkFrame } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';

/** Large frames being reassembled at once, per link. */
const MAX_PARTIALS = 16;

interface Partial {
  count: number;
  parts: Uint8Array[];
  bytes: number;
}

/**
 * The chunks of large frames a peer sent, held until each frame's last chunk is in. Chunks come
 * from a peer: their ids, indexes and counts are checked here, and what they hold is bounded in
 * chunks, in frames and in bytes.
 */
export class ChunkReassembly {
  /** Chunks held at once, whatever their size (empty ones too). */
  readonly #maxChunks: number;
  /** Largest frame a chunked one may come to. */
  readonly #maxFrameBytes: number;
  /** Made at the first chunk: most links never carry a frame large enough to be cut. */
  #partials: Map<number, Partial> | undefined;
  #chunks = 0;
  #bytes = 0;

  constructor(maxChunks: number, maxFrameBytes: number) {
    this.#maxChunks = maxChunks;
    this.#maxFrameBytes = maxFrameBytes;
  }

  /** Bytes of the chunks held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Adds a chunk; returns the whole frame's bytes once its last chunk is in. */
  add(chunk: ChunkFrame): Uint8Array | undefined {
    const partials = (this.#partials ??= new Map<number, Partial>());
    let partial = partials.get(chunk.id);
    if (!partial) {
      if (chunk.index !== 0)
        throw new OiafedError('BAD_FRAME', `chunk ${chunk.index} of unknown frame ${chunk.id}`);
      if (!(chunk.count >= 2) || !Number.isInteger(chunk.count))
        throw new OiafedError('BAD_FRAME', `chunked frame ${chunk.id} claims ${chunk.count} chunks`);
      if (chunk.count > this.#maxChunks)
        throw new OiafedError(
          'PAYLOAD_TOO_LARGE',
          `chunked frame ${chunk.id} claims ${chunk.count} chunks; a link holds at most ${this.#maxChunks}`,
        );
      if (partials.size >= MAX_PARTIALS)
        throw new OiafedError('BAD_FRAME', `more than ${MAX_PARTIALS} chunked frames in flight at once`);
      partial = { count: chunk.count, parts: [], bytes: 0 };
      partials.set(chunk.id, partial);
    }
    if (chunk.index !== partial.parts.length || chunk.count !== partial.count) {
      throw new OiafedError(
        'BAD_FRAME',
        `chunk ${chunk.index}/${chunk.count} of frame ${chunk.id} out of order`,
      );
    }
    // Counted by number too: an empty chunk costs memory all the same.
    if (this.#chunks >= this.#maxChunks)
      throw new OiafedError('PAYLOAD_TOO_LARGE', `more than ${this.#maxChunks} chunks held at once`);
    partial.bytes += chunk.data.byteLength;
    if (partial.bytes > this.#maxFrameBytes) {
      throw new OiafedError(
        'PAYLOAD_TOO_LARGE',
        `chunked frame ${chunk.id} exceeds the limit of ${this.#maxFrameBytes} bytes`,
      );
    }
    partial.parts.push(chunk.data);
    this.#chunks += 1;
    this.#bytes += chunk.data.byteLength;
    if (partial.parts.length < partial.count) return undefined;
    partials.delete(chunk.id);
    this.#chunks -= partial.count;
    this.#bytes -= partial.bytes;
    const whole = new Uint8Array(partial.bytes);
    let at = 0;
    for (const part of partial.parts) {
      whole.set(part, at);
      at += part.byteLength;
    }
    return whole;
  }

  /** Lets go of every chunk held. */
  clear(): void {
    this.#partials?.clear();
    this.#chunks = 0;
    this.#bytes = 0;
  }
}
