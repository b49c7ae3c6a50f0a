import { Unpackr, type Options } from 'msgpackr';

/**
 * Record layouts known to both ends (part of the protocol version), for frames sent as maps:
 * relayed ones, pings, and those inside an attached frame. Such a frame carries a one-byte layout
 * id instead of its field names, which halves it and makes decoding it about four times faster
 * (msgpackr's shared structures). The frames of direct calls travel as tuples (frame-tuples.ts).
 */
export const FRAME_LAYOUTS = (): string[][] => [
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
export class RecordDecoder {
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
