import { addExtension } from 'msgpackr';
import type { Envelope } from './envelope.js';
import { OiafedError } from './errors.js';

/** Typed arrays at least this large travel as attachments: raw bytes beside the frame, never encoded. */
export const MIN_ATTACHMENT_BYTES = 64 * 1024;
const MAX_ATTACHMENTS = 4096;
const MAX_DEPTH = 8;

/** Stands in a frame for its attachment number `index`. */
export class AttachmentRef {
  constructor(readonly index: number) {}
}

addExtension({ Class: AttachmentRef, type: 42, write: (ref: AttachmentRef) => ref.index, read: (index: number) => new AttachmentRef(index) });

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

interface TypedArrayKind {
  new (buffer: ArrayBuffer, byteOffset?: number, length?: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
}

const KINDS: Record<string, TypedArrayKind> = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
};

export interface Extracted {
  frame: Envelope;
  attachments: TypedArray[];
  types: string[];
}

/**
 * Takes the large typed arrays out of a data frame's payload, leaving AttachmentRefs in a copy of
 * the path to them (the caller's objects are not touched). Undefined when there are none.
 */
export function extractAttachments(frame: Envelope): Extracted | undefined {
  const key = frame.kind === 'call' ? 'args' : frame.kind === 'result' ? 'value' : frame.kind === 'event' ? 'payload' : undefined;
  if (!key) return undefined;
  const payload = (frame as unknown as Record<string, unknown>)[key];
  if (!holdsAttachment(payload, 0)) return undefined;
  const attachments: TypedArray[] = [];
  const types: string[] = [];
  const walk = (value: unknown, depth: number): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (ArrayBuffer.isView(value)) {
      const name = value.constructor.name;
      if (value.byteLength < MIN_ATTACHMENT_BYTES || !(name in KINDS) || attachments.length >= MAX_ATTACHMENTS) return value;
      attachments.push(value as TypedArray);
      types.push(name);
      return new AttachmentRef(attachments.length - 1);
    }
    if (depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      let copy: unknown[] | undefined;
      value.forEach((item, i) => {
        const out = walk(item, depth + 1);
        if (out !== item) (copy ??= [...value])[i] = out;
      });
      return copy ?? value;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    let copy: Record<string, unknown> | undefined;
    for (const [k, item] of Object.entries(value)) {
      const out = walk(item, depth + 1);
      if (out !== item) (copy ??= { ...(value as Record<string, unknown>) })[k] = out;
    }
    return copy ?? value;
  };
  const replaced = walk(payload, 0);
  if (attachments.length === 0) return undefined;
  return { frame: { ...frame, [key]: replaced } as Envelope, attachments, types };
}

/** Whether `value` holds a typed array that would travel as an attachment: a look that allocates nothing, for the many frames without one. */
function holdsAttachment(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ArrayBuffer.isView(value)) return value.byteLength >= MIN_ATTACHMENT_BYTES && value.constructor.name in KINDS;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (holdsAttachment(value[i], depth + 1)) return true;
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) if (holdsAttachment((value as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** Refuses an announced set of attachments that is not plausible, before any of it is allocated. */
export function checkAttachments(sizes: readonly number[], types: readonly string[], maxBytes: number): void {
  if (sizes.length !== types.length || sizes.length === 0 || sizes.length > MAX_ATTACHMENTS) throw new OiafedError('BAD_FRAME', 'attachment list is malformed');
  let total = 0;
  sizes.forEach((size, i) => {
    const Kind = KINDS[types[i]!];
    if (!Kind || !Number.isInteger(size) || size < 0 || size % Kind.BYTES_PER_ELEMENT !== 0) {
      throw new OiafedError('BAD_FRAME', `attachment ${i} (${String(types[i])}, ${size} bytes) is malformed`);
    }
    total += size;
  });
  if (total > maxBytes) throw new OiafedError('PAYLOAD_TOO_LARGE', `attachments of ${total} bytes exceed the limit of ${maxBytes} bytes`);
}

/** Puts the received attachments back where their refs stand. */
export function restoreAttachments(frame: Envelope, buffers: readonly Uint8Array[], types: readonly string[]): Envelope {
  const walk = (value: unknown, depth: number): unknown => {
    if (value instanceof AttachmentRef) {
      const buffer = buffers[value.index];
      if (!buffer) throw new OiafedError('BAD_FRAME', `reference to missing attachment ${value.index}`);
      const Kind = KINDS[types[value.index]!]!;
      return new Kind(buffer.buffer as ArrayBuffer, buffer.byteOffset, buffer.byteLength / Kind.BYTES_PER_ELEMENT);
    }
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i], depth + 1);
      return value;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    for (const [k, item] of Object.entries(value)) (value as Record<string, unknown>)[k] = walk(item, depth + 1);
    return value;
  };
  return walk(frame, -1) as Envelope;
}
