import { FRAME_LAYOUTS } from './record-decoder.js';
import * as cost from './decoded-costs.js';
import { MAX_SHARED_PER_FRAME } from './shared-bytes.js';

export { MAX_COST_PER_BYTE } from './decoded-costs.js';

/*
 * What a frame will cost once decoded, found before msgpackr decodes it. MessagePack amplifies: one
 * byte 0x80 is an empty map, which msgpackr (with our options) makes a Map of 192 bytes of heap
 * (measured, Node 20): 8 MiB of them took 1.5 GiB and killed a server. So a frame is first walked
 * token by token exactly as msgpackr's read() will walk it (unpack.js of msgpackr 2.1.3: record
 * definitions and references, extensions that read the value after them), adding up the heap each
 * token will take, and refused once that passes a limit in bytes; what the walk cannot follow the
 * same way is refused too. Strings, byte strings and extension payloads are skipped by their length.
 *
 *
 * The heap each value costs is in decoded-costs.ts.
 */

/** Deeper than any value an honest peer sends; msgpackr's recursion would fail on its own further down. */
const MAX_DEPTH = 1000;

const RECORD_DEFINITION = 0x72;
const EXT_UNDEFINED = 0;
const EXT_ATTACHMENT = 42;
const EXT_SHARED = 43;
const EXT_BIGINT = 0x42;
const EXT_ERROR = 0x65;
const EXT_SET = 0x73;
const EXT_TYPED_ARRAY = 0x74;
const EXT_REGEXP = 0x78;
const EXT_DATE = 0xff;

/** A layout's field count, keyed by its id as msgpackr computes it; shared ones may not be redefined. */
interface Layout {
  fields: number;
  shared: boolean;
  /** 0 when defined with a two-byte id of high byte 0: a reference to its slot reads a second byte. */
  highByte: number | undefined;
}

const SHARED_LAYOUTS: ReadonlyMap<number, Layout> = new Map(
  FRAME_LAYOUTS().map((keys, id): [number, Layout] => [
    id,
    { fields: keys.length, shared: true, highByte: undefined },
  ]),
);

/**
 * The estimated heap bytes `bytes[0, end)` decode to; throws (a short reason, for BAD_FRAME) once the
 * estimate passes `limit`, or where msgpackr would read the bytes otherwise than this walk does.
 */
export function decodedSize(bytes: Uint8Array, limit: number, end = bytes.byteLength): number {
  const walk = new SizeWalk(bytes, 0, end, limit, { marks: 0 }, false);
  walk.message();
  return walk.total;
}

class SizeWalk {
  total = 0;
  readonly #layouts = new Map(SHARED_LAYOUTS);

  constructor(
    readonly src: Uint8Array,
    public pos: number,
    readonly end: number,
    readonly limit: number,
    readonly frame: { marks: number },
    readonly inShared: boolean,
  ) {}

  /** One whole message: one value that ends where the bytes do. */
  message(): void {
    this.#value(0);
    if (this.pos !== this.end) throw new Error('bytes left over after the value');
  }

  #add(cost: number): void {
    this.total += cost;
    if (this.total > this.limit) throw new Error(`it would decode to more than ${this.limit} bytes`);
  }

  /** Moves past `n` bytes, which must be there. */
  #skip(n: number): void {
    if (n > this.end - this.pos) throw new Error('truncated');
    this.pos += n;
  }

  #u8(): number {
    this.#skip(1);
    return this.src[this.pos - 1]!;
  }

  #u16(): number {
    this.#skip(2);
    const s = this.src;
    return (s[this.pos - 2]! << 8) | s[this.pos - 1]!;
  }

  #u32(): number {
    this.#skip(4);
    const s = this.src;
    const p = this.pos - 4;
    return s[p]! * 0x1000000 + ((s[p + 1]! << 16) | (s[p + 2]! << 8) | s[p + 3]!);
  }

  #value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Error(`nested deeper than ${MAX_DEPTH}`);
    const token = this.#u8();
    const bytes = cost.SCALAR_BYTES[token]!;
    if (bytes >= 0) {
      if (bytes > 0) this.#skip(bytes);
      return this.#add(cost.SCALAR_HEAP[token]!);
    }
    if (token < 0x80) return this.#reference(token, depth);
    if (token < 0x90) return this.#map(token - 0x80, depth);
    if (token < 0xa0) return this.#array(token - 0x90, depth);
    if (token < 0xc0) return this.#string(token - 0xa0);
    switch (token) {
      case 0xc4:
        return this.#bin(this.#u8());
      case 0xc5:
        return this.#bin(this.#u16());
      case 0xc6:
        return this.#bin(this.#u32());
      case 0xc7:
        return this.#ext(this.#u8(), depth);
      case 0xc8:
        return this.#ext(this.#u16(), depth);
      case 0xc9:
        return this.#ext(this.#u32(), depth);
      case 0xd4:
        return this.#fixext1(depth);
      case 0xd5:
        if (this.src[this.pos] === RECORD_DEFINITION && this.pos < this.end) {
          this.pos += 1;
          const id = this.#u8() & 0x3f;
          return this.#define(id, this.#u8(), depth);
        }
        return this.#ext(2, depth);
      case 0xd6:
        return this.#ext(4, depth);
      case 0xd7:
        return this.#ext(8, depth);
      case 0xd8:
        return this.#ext(16, depth);
      case 0xd9:
        return this.#string(this.#u8());
      case 0xda:
        return this.#string(this.#u16());
      case 0xdb:
        return this.#string(this.#u32());
      case 0xdc:
        return this.#array(this.#u16(), depth);
      case 0xdd:
        return this.#array(this.#u32(), depth);
      case 0xde:
        return this.#map(this.#u16(), depth);
      default:
        return this.#map(this.#u32(), depth);
    }
  }

  #string(length: number): void {
    this.#skip(length);
    this.#add(length < 2 ? cost.SLOT : cost.STRING + ((length + 7) & ~7));
  }

  #bin(length: number): void {
    this.#skip(length);
    this.#add(cost.BYTES + length);
  }

  #array(length: number, depth: number): void {
    // Each element takes a byte at least: msgpackr refuses a longer length before allocating.
    if (length > this.end - this.pos) throw new Error('truncated');
    this.#add(length === 0 ? cost.ARRAY : cost.ARRAY + cost.ELEMENTS);
    for (let i = 0; i < length; i++) {
      // One-byte scalars (nil, small integers) here, not through #value: a frame of millions of
      // them is walked in 60% of the time (8 MiB of nils: 20 ms, was 35).
      const token = this.src[this.pos]!;
      if (this.pos < this.end && cost.SCALAR_BYTES[token] === 0) {
        this.pos += 1;
        this.#add(cost.SCALAR_HEAP[token]!);
      } else this.#value(depth + 1);
    }
  }

  #map(entries: number, depth: number): void {
    if (entries > (this.end - this.pos) / 2) throw new Error('truncated');
    this.#add(cost.MAP + cost.MAP_ENTRY * entries);
    for (let i = 0; i < entries; i++) {
      this.#value(depth + 1);
      this.#value(depth + 1);
    }
  }

  /** 0x40-0x7f: a record when a layout is in slot `token & 0x3f`, else a small integer. */
  #reference(token: number, depth: number): void {
    const slot = token & 0x3f;
    let layout = this.#layouts.get(slot);
    if (layout === undefined) return this.#add(cost.SLOT);
    if (layout.highByte === 0) {
      // msgpackr's second-byte reader: 0 is this layout, any other a two-byte id's layout.
      const high = this.#u8();
      if (high !== 0) {
        layout = this.#layouts.get(twoByteId(slot, high));
        if (layout === undefined) throw new Error('a record of an undefined layout');
      }
    }
    this.#record(layout.fields, depth);
  }

  #record(fields: number, depth: number): void {
    this.#add(cost.RECORD);
    for (let i = 0; i < fields; i++) this.#value(depth + 1);
  }

  /** A layout defined inline (msgpackr's extension 0x72): its keys, then a record of it. */
  #define(slot: number, highByte: number | undefined, depth: number): void {
    const id = highByte === undefined ? slot : twoByteId(slot, highByte);
    if (this.#layouts.get(id)?.shared === true)
      throw new Error('the message redefines a shared frame layout');
    const token = this.#u8();
    const fields =
      token >= 0x90 && token < 0xa0
        ? token - 0x90
        : token === 0xdc
          ? this.#u16()
          : token === 0xdd
            ? this.#u32()
            : -1;
    if (fields < 0) throw new Error('a record layout that is not an array');
    if (fields > this.end - this.pos) throw new Error('truncated');
    this.#add(cost.LAYOUT + cost.ARRAY + cost.SLOT * fields);
    // msgpackr makes each key a string; anything but a string or a plain scalar (a byte 0x40-0x7f
    // is one where no layout has its slot) fails there.
    for (let i = 0; i < fields; i++) {
      const key = this.src[this.pos];
      if (
        key === undefined ||
        !(isKeyToken(key) || (key >= 0x40 && key < 0x80 && !this.#layouts.has(key & 0x3f)))
      )
        throw new Error('a record key that is not a string');
      this.#value(depth + 1);
    }
    this.#layouts.set(id, { fields, shared: false, highByte });
    this.#record(fields, depth);
  }

  /** fixext 1 (0xd4): msgpackr reads some extensions without taking their data byte. */
  #fixext1(depth: number): void {
    const type = this.#u8();
    if (type === RECORD_DEFINITION) return this.#define(this.#u8() & 0x3f, undefined, depth);
    if (type === EXT_ATTACHMENT) {
      // An extension with `read`: a filler byte, then the value it reads.
      this.#skip(1);
      this.#add(cost.ATTACHMENT_REF);
      return this.#value(depth + 1);
    }
    this.#skip(1);
    if (type === EXT_UNDEFINED) return this.#add(cost.SLOT);
    this.#payload(type, this.pos - 1, 1, depth);
  }

  /** An extension of `length` payload bytes after its type byte (msgpackr's readExt). */
  #ext(length: number, depth: number): void {
    const type = this.#u8();
    const start = this.pos;
    this.#skip(length);
    // msgpackr calls it as a function: one registered with `read` (attachments) is not.
    if (type === EXT_ATTACHMENT) throw new Error('an attachment reference of the wrong form');
    if (type === EXT_UNDEFINED) return this.#add(cost.SLOT);
    this.#payload(type, start, length, depth);
  }

  #payload(type: number, start: number, length: number, depth: number): void {
    switch (type) {
      case EXT_BIGINT:
        return this.#add(cost.BIGINT + length);
      case EXT_TYPED_ARRAY:
        return this.#add(cost.BYTES + length);
      case EXT_DATE:
        return this.#add(cost.DATE);
      // These read the value after their payload.
      case EXT_SET:
        this.#add(cost.SET);
        return this.#value(depth + 1);
      case EXT_ERROR:
        this.#add(cost.ERROR);
        return this.#value(depth + 1);
      case EXT_REGEXP:
        this.#add(cost.REGEXP);
        return this.#value(depth + 1);
      case EXT_SHARED:
        return this.#shared(start, length);
      default:
        // Bundled strings (0x62), structured-clone references (0x69, 0x70) and any other: no encoder
        // of ours writes them, and the decoder refuses or misreads them.
        throw new Error(`unknown extension ${type}`);
    }
  }

  /** A shared value (shared-bytes.ts): a message of its own, decoded after the frame with fresh layouts. */
  #shared(start: number, length: number): void {
    if (this.inShared) throw new Error('a shared value nested in another');
    if (++this.frame.marks > MAX_SHARED_PER_FRAME)
      throw new Error(`more than ${MAX_SHARED_PER_FRAME} shared values in one frame`);
    this.#add(cost.SHARED_MARK);
    const inner = new SizeWalk(this.src, start, start + length, this.limit - this.total, this.frame, true);
    inner.message();
    this.#add(inner.total);
  }
}

/** The id msgpackr files a layout under when defined, or looked up, with a second byte. */
function twoByteId(slot: number, high: number): number {
  return slot < 32 ? -((high << 5) + slot) : (high << 5) + slot;
}

/** Strings, nil, booleans and numbers: what msgpackr turns into a record key (asSafeString). */
function isKeyToken(token: number): boolean {
  return (
    (cost.SCALAR_BYTES[token]! >= 0 && token !== 0xc1) ||
    (token >= 0xa0 && token < 0xc0) ||
    (token >= 0xd9 && token <= 0xdb)
  );
}
