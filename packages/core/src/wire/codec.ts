import { Packr, Unpackr, type Options } from 'msgpackr';
import { boundedText } from './bounded-text.js';
import { OiafedError } from './errors.js';
import type { Envelope } from './envelope.js';
import { frameProblem } from './frame-checks.js';
import { fromTuple, toTuple } from './frame-tuples.js';

export interface CodecOptions {
  /** Frames larger than this are refused before decoding (msgpackr has no limits of its own). */
  maxFrameBytes?: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** Frames up to this size are decoded from one reused buffer (see Codec.#unpack). */
const SCRATCH_BYTES = 4096;

/**
 * Record layouts known to both ends (part of the protocol version), for frames sent as maps:
 * relayed ones, pings, and those inside an attached frame. Such a frame carries a one-byte layout
 * id instead of its field names, which halves it and makes decoding it about four times faster
 * (msgpackr's shared structures). The frames of direct calls travel as tuples (frame-tuples.ts).
 */
const FRAME_LAYOUTS = (): string[][] => [
  ['kind', 'id', 'method', 'args'],
  ['kind', 'id', 'value'],
  ['kind', 'id', 'name', 'payload'],
  ['kind', 'id', 'error'],
  ['kind', 'id'],
  ['kind', 'id', 'src', 'dst', 'method', 'args'],
  ['kind', 'id', 'src', 'dst', 'value'],
  ['kind', 'id', 'src', 'dst', 'name', 'payload'],
  ['kind', 'id', 'src', 'dst', 'error'],
  ['kind', 'id', 'src', 'dst'],
  ['kind', 't'],
];

/**
 * Record layouts as msgpackr's decoder holds them; `restoreStructures` is where it keeps a layout
 * marked isShared that a message redefined, to put it back.
 */
type Layouts = (string[] & { isShared?: boolean })[] & { restoreStructures?: unknown };

/**
 * msgpackr's decoder, with whatever a message defines kept to that message. MessagePack input may
 * define record layouts (msgpackr's extension 0x72; objects that match no shared layout travel so),
 * and msgpackr stores each definition in the array of layouts it decodes with, where it stays: a
 * peer that redefined a shared layout's slot changed how every later frame decoded, on every link
 * decoding with the same array. Here each message is decoded with an array of its own, a copy of
 * the shared layouts dropped afterwards, so no byte of one message can change how another decodes.
 * A message that redefined a shared layout is refused all the same: no honest encoder writes one.
 */
class RecordDecoder {
  readonly #shared: Layouts = FRAME_LAYOUTS().map((layout) => Object.assign(layout, { isShared: true }));
  // copyBuffers: a decoded Uint8Array is its own memory, never a view of the bytes it came in
  // (which may be the scratch buffer below, or a socket's read buffer it would keep alive).
  // structuredClone false: no reference ids, which no encoder of ours writes and which would let a
  // peer send a value that contains itself (a cycle that code walking it never finishes).
  // trusted: msgpackr's name for skipping one step, cutting the array back to its shared layouts
  // before each message; an array made for the message has nothing to cut. It trusts nothing else.
  // moreTypes: read as the encoder writes (msgpackr's typed-array extensions are read either way;
  // said here so the two ends visibly agree).
  readonly #unpackr = new Unpackr({
    moreTypes: true,
    copyBuffers: true,
    structuredClone: false,
    trusted: true,
    structures: [],
  } as Options & { trusted: boolean }) as Unpackr & { structures: Layouts };

  /** The value in `bytes` (up to `end`); throws what msgpackr throws, or when a shared layout was redefined. */
  unpack(bytes: Uint8Array, end?: number): unknown {
    const layouts: Layouts = this.#shared.slice();
    this.#unpackr.structures = layouts;
    const value: unknown = end === undefined ? this.#unpackr.unpack(bytes) : this.#unpackr.unpack(bytes, end);
    // Set by msgpackr only when a definition replaced a layout marked isShared.
    if (layouts.restoreStructures !== undefined)
      throw new Error('the message redefines a shared frame layout');
    return value;
  }
}

/**
 * The wire codec: msgpackr with `moreTypes`, so every typed array, ArrayBuffer, DataView, Map,
 * Set, Date and BigInt crosses as itself. It only builds data: nothing on the wire can name code.
 */
export class Codec {
  readonly maxFrameBytes: number;
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

  constructor(options: CodecOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /**
   * The bytes stay valid after later calls (msgpackr moves on to fresh memory), but they may share
   * an ArrayBuffer with other frames: never transfer `.buffer` of the result.
   */
  encode(frame: Envelope): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.#pack(toTuple(frame) ?? frame);
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
    if (bytes.byteLength > SCRATCH_BYTES) {
      // From a subclass (Node's Buffer) msgpackr's copies of byte strings would be Buffers too.
      return this.#decoder.unpack(
        bytes.constructor === Uint8Array
          ? bytes
          : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      );
    }
    this.#scratch.set(bytes);
    return this.#decoder.unpack(this.#scratch, bytes.byteLength);
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
