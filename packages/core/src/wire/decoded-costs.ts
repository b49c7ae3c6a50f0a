/*
 * The heap a decoded MessagePack value takes, bytes, as decoded-size.ts estimates it: measured per
 * value on Node 20 (V8, 64-bit, no pointer compression), each value counting the 8-byte slot it
 * takes in its parent. decoded-size.heap.test.ts checks the sum against the heap a decode keeps.
 */
export const SLOT = 8;
/** A boxed double or a 32-bit integer past V8's small integers. */
export const HEAP_NUMBER = 24;
export const BIGINT = 32;
/** Strings of 0 or 1 character are V8's own (shared) strings; longer ones a header and their bytes. */
export const STRING = 24;
/** An empty array shares V8's empty element store: 40 bytes; one with elements has a store of its own. */
export const ARRAY = 40;
export const ELEMENTS = 16;
/** A Map (msgpackr reads MessagePack maps as Maps with our options) is 192 bytes empty. */
export const MAP = 192;
export const MAP_ENTRY = 40;
export const RECORD = 64;
/** A Uint8Array copy or a typed array: the view, its ArrayBuffer and its backing store. */
export const BYTES = 208;
export const SET = 160;
export const DATE = 104;
/** An Error captures a stack trace: 710 bytes measured. */
export const ERROR = 800;
export const REGEXP = 64;
export const ATTACHMENT_REF = 40;
export const SHARED_MARK = 40;
/**
 * A record layout's own keeping beside its keys (counted as an array of strings): the reader
 * msgpackr builds for it. A layout redefined is garbage at once: 40 shapes in turn (the encoder
 * redefines its 32 ids) measured 3.4x the frame in heap against 3.6x estimated with 256 here.
 */
export const LAYOUT = 64;

/**
 * The most any one byte of a frame can add to the estimate (an empty map: 192; an Error holding an
 * empty map, 992 for 4 bytes). A frame can thus never be estimated above this many times its size: the codec need not
 * walk frames too small to pass its limit (codec.ts).
 */
export const MAX_COST_PER_BYTE = 256;

/**
 * Tokens that are one number or constant (nil, booleans, msgpackr's 0xc1 marker): the bytes after
 * the token (-1 for any other token), and the heap the value takes. 0x40-0x7f are not: each may be
 * a record reference. Typed arrays: the walk looks one up per token.
 */
export const SCALAR_BYTES = new Int8Array(256).fill(-1);
export const SCALAR_HEAP = new Uint8Array(256);
for (const [first, last, bytes, heap] of [
  [0x00, 0x3f, 0, SLOT],
  [0xe0, 0xff, 0, SLOT],
  [0xc0, 0xc3, 0, SLOT],
  [0xca, 0xca, 4, SLOT],
  [0xcb, 0xcb, 8, HEAP_NUMBER],
  [0xcc, 0xcc, 1, SLOT],
  [0xcd, 0xcd, 2, SLOT],
  [0xce, 0xce, 4, HEAP_NUMBER],
  [0xcf, 0xcf, 8, BIGINT],
  [0xd0, 0xd0, 1, SLOT],
  [0xd1, 0xd1, 2, SLOT],
  [0xd2, 0xd2, 4, HEAP_NUMBER],
  [0xd3, 0xd3, 8, BIGINT],
] as const) {
  SCALAR_BYTES.fill(bytes, first, last + 1);
  SCALAR_HEAP.fill(heap, first, last + 1);
}
