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

/** Decodes the message inside a shared value's extension; no decoding state is kept between messages. */
const inner = new RecordDecoder();
let decodingInner = false;

addExtension({
  Class: SharedBytes,
  type: 43,
  // Returned bytes are written as the extension's data, as they are.
  pack: (value: SharedBytes) => value.bytes,
  // Thrown inside the decoder, so the frame is refused as BAD_FRAME. An honest encoder never puts
  // a shared value inside another (its bytes are those of the value alone): a peer that nests them
  // is refused rather than followed down.
  unpack: (bytes: Uint8Array) => {
    if (decodingInner) throw new Error('a shared value nested in another');
    decodingInner = true;
    try {
      return inner.unpack(bytes);
    } finally {
      decodingInner = false;
    }
  },
});

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
