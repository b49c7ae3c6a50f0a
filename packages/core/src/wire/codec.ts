import { Packr } from 'msgpackr';
import { boundedText } from './bounded-text.js';
import { decodedSize, MAX_COST_PER_BYTE } from './decoded-size.js';
import { OiafedError } from './errors.js';
import type { Envelope } from './envelope.js';
import { frameProblem } from './frame-checks.js';
import { fromTuple, toTuple } from './frame-tuples.js';
import { FRAME_LAYOUTS, RecordDecoder } from './record-decoder.js';
import { unpackWithShared, withSharedBytes } from './shared-bytes.js';

export interface CodecOptions {
  /** Frames larger than this are refused before decoding (msgpackr has no limits of its own). */
  maxFrameBytes?: number;
  /**
   * Heap bytes any frame may decode to; a larger frame may decode to DECODED_BYTES_PER_BYTE times
   * its size. MessagePack amplifies (a one-byte empty map is a 192-byte Map), so a frame whose
   * estimated decoded size (decoded-size.ts) passes this is refused as BAD_FRAME before it is
   * decoded. Raise it for frames of megabytes of small objects, Sets or Maps (5-40x their size
   * decoded): typed arrays decode to their size.
   */
  maxDecodedBytes?: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;
export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;
/**
 * Large honest frames are model weights, typed arrays that decode to their size (decoded-size.test.ts);
 * small objects, Maps and Sets cost more (records of metrics about 5-15x) but travel in small frames.
 */
export const DECODED_BYTES_PER_BYTE = 4;

/** Frames up to this size are decoded from one reused buffer (see Codec.#unpack). */
const SCRATCH_BYTES = 4096;

/**
 * The wire codec: msgpackr with `moreTypes`, so every typed array, ArrayBuffer, DataView, Map,
 * Set, Date and BigInt crosses as itself. It only builds data: nothing on the wire can name code.
 */
export class Codec {
  readonly maxFrameBytes: number;
  readonly maxDecodedBytes: number;
  /**
   * Frames up to this size are decoded without estimating their size first: none can be estimated
   * above maxDecodedBytes (MAX_COST_PER_BYTE). With the default limit, 64 KiB, which a frame of the
   * costliest token (the empty map, 192 bytes of heap each, measured) makes 12 MiB.
   */
  readonly #estimateAbove: number;
  // Without moreTypes a Float32Array comes back as a Buffer of the wrong bytes. The layouts are
  // fixed: saveStructures refuses additions. The encoder keeps state of its own in its copy of them
  // (msgpackr's transitions), so decoding has another (RecordDecoder).
  readonly #packr = new Packr({
    moreTypes: true,
    structures: FRAME_LAYOUTS(),
    maxSharedStructures: FRAME_LAYOUTS().length,
    saveStructures: () => false,
  });
  readonly #decoder = new RecordDecoder();
  readonly #scratch = new Uint8Array(SCRATCH_BYTES);
  /** A shared value's bytes, in memory of their own: they outlive this call (shared-values.ts). */
  readonly #encodeShared = (value: object): Uint8Array => new Uint8Array(this.#pack(value));

  constructor(options: CodecOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxDecodedBytes = options.maxDecodedBytes ?? DEFAULT_MAX_DECODED_BYTES;
    this.#estimateAbove = Math.floor(this.maxDecodedBytes / MAX_COST_PER_BYTE);
  }

  /**
   * The bytes stay valid after later calls (msgpackr moves on to fresh memory), but they may share
   * an ArrayBuffer with other frames: never transfer `.buffer` of the result.
   */
  encode(frame: Envelope): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.#pack(withSharedBytes(toTuple(frame) ?? frame, this.#encodeShared));
    } catch (cause) {
      throw new OiafedError('NOT_SERIALIZABLE', `cannot encode ${frame.kind} frame: ${reasonOf(cause)}`, {
        cause,
      });
    }
    if (bytes.byteLength > this.maxFrameBytes) {
      throw tooLarge(bytes.byteLength, this.maxFrameBytes);
    }
    return bytes;
  }

  /** Encodes any value (not only frames): what interceptors use to pack payloads. */
  encodeValue(value: unknown): Uint8Array {
    try {
      return this.#pack(value);
    } catch (cause) {
      throw new OiafedError('NOT_SERIALIZABLE', `cannot encode value: ${reasonOf(cause)}`, { cause });
    }
  }

  decodeValue(bytes: Uint8Array): unknown {
    if (bytes.byteLength > this.maxFrameBytes) throw tooLarge(bytes.byteLength, this.maxFrameBytes);
    try {
      return this.#unpack(bytes);
    } catch (cause) {
      throw new OiafedError(
        'BAD_FRAME',
        `undecodable value of ${bytes.byteLength} bytes: ${reasonOf(cause)}`,
        { cause },
      );
    }
  }

  decode(bytes: Uint8Array): Envelope {
    if (bytes.byteLength > this.maxFrameBytes) throw tooLarge(bytes.byteLength, this.maxFrameBytes);
    let value: unknown;
    try {
      value = this.#unpack(bytes);
    } catch (cause) {
      throw new OiafedError(
        'BAD_FRAME',
        `undecodable frame of ${bytes.byteLength} bytes: ${reasonOf(cause)}`,
        { cause },
      );
    }
    if (Array.isArray(value)) {
      const frame = fromTuple(value);
      if (typeof frame === 'string') throw new OiafedError('BAD_FRAME', frame);
      return frame;
    }
    const problem = frameProblem(value);
    if (problem) throw new OiafedError('BAD_FRAME', problem);
    return value as Envelope;
  }

  /**
   * msgpackr caches a DataView on the object it reads from; on a fresh view per message (what
   * sockets deliver) that costs more than the rest of decoding a small frame. Small frames are
   * therefore copied into one buffer that keeps its DataView, and read up to their length.
   */
  // msgpackr declares its result as Node's Buffer, a name the platform-free core does not have.
  #pack(value: unknown): Uint8Array {
    return this.#packr.pack(value) as Uint8Array;
  }

  #unpack(bytes: Uint8Array): unknown {
    if (bytes.byteLength > this.#estimateAbove)
      decodedSize(bytes, Math.max(this.maxDecodedBytes, DECODED_BYTES_PER_BYTE * bytes.byteLength));
    if (bytes.byteLength > SCRATCH_BYTES) {
      // From a subclass (Node's Buffer) msgpackr's copies of byte strings would be Buffers too.
      const own =
        bytes.constructor === Uint8Array
          ? bytes
          : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return unpackWithShared(() => this.#decoder.unpack(own));
    }
    this.#scratch.set(bytes);
    return unpackWithShared(() => this.#decoder.unpack(this.#scratch, bytes.byteLength));
  }
}

function tooLarge(size: number, max: number): OiafedError {
  return new OiafedError('PAYLOAD_TOO_LARGE', `frame of ${size} bytes exceeds the limit of ${max} bytes`);
}

/**
 * Why msgpackr failed, short: its messages may quote the input (a regular expression's source, 100 characters
 * of a value).
 */
function reasonOf(cause: unknown): string {
  return boundedText(cause instanceof Error ? cause.message : cause, 200);
}
