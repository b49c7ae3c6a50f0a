import { addExtension } from 'msgpackr';
import { RecordDecoder } from './record-decoder.js';
import { anyShared, sharedBytes } from './shared-values.js';

const MAX_DEPTH = 8;

/**
 * Stands in a frame for a shared value (shared-values.ts): its bytes, encoded once, travel as a
 * MessagePack extension holding a message of its own. Its own, so that its record layouts are
 * defined and used inside it: spliced into a frame as they are, bytes of a value encoded alone
 * could redefine a layout id the frame had already given another shape.
 */
export class SharedBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** Most shared values a frame may hold: an honest one holds one (the round's model), maybe a few. */
export const MAX_SHARED_PER_FRAME = 64;

/** A shared value met while a frame decodes: its message, read once the frame is whole. */
class SharedMark {
  constructor(readonly bytes: Uint8Array) {}
}

/** The marks of the frame decoding now; undefined outside `unpackWithShared` and inside a mark's message. */
let marks: SharedMark[] | undefined;

/** Decodes the message of each shared value; no decoding state is kept between messages. */
const inner = new RecordDecoder();

addExtension({
  Class: SharedBytes,
  type: 43,
  // Returned bytes are written as the extension's data, as they are.
  pack: (value: SharedBytes) => value.bytes,
  // Not decoded here: msgpackr decodes a message met inside another re-entrantly, after copying the
  // whole outer frame, so a frame of many small shared values cost its size times their count. It is
  // marked, and read after the frame (unpackWithShared). Thrown inside the decoder, so the frame is
  // refused as BAD_FRAME. An honest encoder never puts a shared value inside another (its bytes are
  // those of the value alone): a peer that nests them is refused rather than followed down.
  unpack: (bytes: Uint8Array) => {
    if (marks === undefined) throw new Error('a shared value nested in another');
    if (marks.length >= MAX_SHARED_PER_FRAME)
      throw new Error(`more than ${MAX_SHARED_PER_FRAME} shared values in one frame`);
    const mark = new SharedMark(bytes);
    marks.push(mark);
    return mark;
  },
});

/**
 * `unpack()`'s value (one frame's decoding) with each shared value in it read from its own message,
 * in one pass: where the encoder puts them (plain objects and arrays, MAX_DEPTH levels down) and
 * nowhere else; a frame with one elsewhere (in a Map, a Set, deeper) is refused by throwing.
 */
export function unpackWithShared(unpack: () => unknown): unknown {
  const found: SharedMark[] = [];
  marks = found;
  let value: unknown;
  try {
    value = unpack();
  } finally {
    marks = undefined;
  }
  if (found.length === 0) return value;
  let read = 0;
  const walk = (item: unknown, depth: number): unknown => {
    if (item instanceof SharedMark) {
      read += 1;
      return inner.unpack(item.bytes);
    }
    if (read === found.length || typeof item !== 'object' || item === null || depth >= MAX_DEPTH) return item;
    if (Array.isArray(item)) {
      for (let i = 0; i < item.length; i++) {
        const child: unknown = item[i];
        const out = walk(child, depth + 1);
        if (out !== child) item[i] = out;
      }
      return item;
    }
    const proto: unknown = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== null) return item;
    const fields = item as Record<string, unknown>;
    for (const key of Object.keys(fields)) {
      // Assigning to `__proto__` would set the prototype: such a mark stays unread, and is refused.
      if (key === '__proto__') continue;
      const child = fields[key];
      const out = walk(child, depth + 1);
      if (out !== child) fields[key] = out;
    }
    return item;
  };
  const out = walk(value, 0);
  if (read !== found.length) throw new Error('a shared value where no encoder puts one');
  return out;
}

/**
 * `value` with each shared value in it (up to MAX_DEPTH levels of plain objects and arrays down)
 * replaced by its bytes, `encode`d once for all frames; the path to it is copied, the caller's
 * objects are not touched. `value` itself when it holds none.
 */
export function withSharedBytes(value: unknown, encode: (value: object) => Uint8Array): unknown {
  if (!anyShared()) return value;
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item !== 'object' || item === null || ArrayBuffer.isView(item)) return item;
    const bytes = sharedBytes(item, encode);
    if (bytes !== undefined) return new SharedBytes(bytes);
    if (depth >= MAX_DEPTH) return item;
    if (Array.isArray(item)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < item.length; i++) {
        const out = walk(item[i], depth + 1);
        if (out !== item[i]) (copy ??= [...(item as unknown[])])[i] = out;
      }
      return copy ?? item;
    }
    const proto: unknown = Object.getPrototypeOf(item);
    if (proto !== Object.prototype && proto !== null) return item;
    let copy: Record<string, unknown> | undefined;
    for (const key in item) {
      const child = (item as Record<string, unknown>)[key];
      const out = walk(child, depth + 1);
      if (out !== child) (copy ??= { ...(item as Record<string, unknown>) })[key] = out;
    }
    return copy ?? item;
  };
  return walk(value, 0);
}
