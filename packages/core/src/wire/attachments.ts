import { addExtension } from 'msgpackr';
import type { Envelope } from './envelope.js';
import { boundedText } from './bounded-text.js';
import { OiafedError } from './errors.js';
import { MAX_ATTACHMENTS } from './frame-limits.js';
import { sharedExtraction } from './shared-values.js';

/** Typed arrays at least this large travel as attachments: raw bytes beside the frame, never encoded. */
export const MIN_ATTACHMENT_BYTES = 64 * 1024;
const MAX_DEPTH = 8;

/** Stands in a frame for its attachment number `index`. */
export class AttachmentRef {
  constructor(readonly index: number) {}
}

addExtension({
  Class: AttachmentRef,
  type: 42,
  write: (ref: AttachmentRef) => ref.index,
  // Thrown inside the decoder, so the frame is refused as BAD_FRAME before anything sees the ref.
  read: (index: unknown) => {
    if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= MAX_ATTACHMENTS)
      throw new Error('attachment reference out of range');
    return new AttachmentRef(index as number);
  },
});

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

/** Looked up by own key only (Object.hasOwn): a peer's type name 'constructor' must not reach Object. */
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
  const key =
    frame.kind === 'call'
      ? 'args'
      : frame.kind === 'result'
        ? 'value'
        : frame.kind === 'event'
          ? 'payload'
          : undefined;
  if (!key) return undefined;
  const payload = (frame as unknown as Record<string, unknown>)[key];
  if (!holdsAttachment(payload, 0)) return undefined;
  const attachments: TypedArray[] = [];
  const types: string[] = [];
  const replaced = takeOut(payload, 0, attachments, types);
  if (attachments.length === 0) return undefined;
  return { frame: { ...frame, [key]: replaced }, attachments, types };
}

/**
 * `value` (at `depth` below the payload) with its large typed arrays moved to `attachments`. A
 * shared value met before any attachment is taken out once for every frame (shared-values.ts).
 */
function takeOut(value: unknown, depth: number, attachments: TypedArray[], types: string[]): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    if (
      value.byteLength < MIN_ATTACHMENT_BYTES ||
      !Object.hasOwn(KINDS, name) ||
      attachments.length >= MAX_ATTACHMENTS
    )
      return value;
    attachments.push(value as TypedArray);
    types.push(name);
    return new AttachmentRef(attachments.length - 1);
  }
  if (attachments.length === 0) {
    const once = sharedExtraction(value, (shared) => {
      const arrays: TypedArray[] = [];
      const kinds: string[] = [];
      return { value: takeOutInside(shared, depth, arrays, kinds), arrays, types: kinds, depth };
    });
    // Its refs count from 0, as they do here; taken out at another depth, its refs would be elsewhere.
    if (once?.depth === depth) {
      attachments.push(...(once.arrays as TypedArray[]));
      types.push(...once.types);
      return once.value;
    }
  }
  return takeOutInside(value, depth, attachments, types);
}

/** `value`, an object, with the large typed arrays inside it taken out (a copy of the path to them). */
function takeOutInside(value: object, depth: number, attachments: TypedArray[], types: string[]): unknown {
  if (depth >= MAX_DEPTH) return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const out = takeOut(item, depth + 1, attachments, types);
      if (out !== item) (copy ??= [...(value as unknown[])])[i] = out;
    });
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [k, item] of Object.entries(value)) {
    const out = takeOut(item, depth + 1, attachments, types);
    if (out !== item) (copy ??= { ...(value as Record<string, unknown>) })[k] = out;
  }
  return copy ?? value;
}

/**
 * Whether `value` holds a typed array that would travel as an attachment: a look that allocates nothing, for
 * the many frames without one.
 */
function holdsAttachment(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (ArrayBuffer.isView(value))
    return value.byteLength >= MIN_ATTACHMENT_BYTES && Object.hasOwn(KINDS, value.constructor.name);
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsAttachment(item, depth + 1)) return true;
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const k in value) if (holdsAttachment((value as Record<string, unknown>)[k], depth + 1)) return true;
  return false;
}

/** Whether `name` is a typed array kind an attachment may be. */
export function isAttachmentType(name: unknown): name is string {
  return typeof name === 'string' && Object.hasOwn(KINDS, name);
}

/** What is wrong with an attached frame's list of attachments, or undefined when it is plausible. */
export function attachmentListProblem(sizes: unknown, types: unknown): string | undefined {
  if (
    !Array.isArray(sizes) ||
    !Array.isArray(types) ||
    sizes.length !== types.length ||
    sizes.length === 0 ||
    sizes.length > MAX_ATTACHMENTS
  ) {
    return `sizes and types are not two lists of 1 to ${MAX_ATTACHMENTS} attachments`;
  }
  for (let i = 0; i < sizes.length; i++) {
    const size: unknown = sizes[i];
    const type: unknown = types[i];
    if (!isAttachmentType(type)) return `types[${i}] is not a typed array kind`;
    if (
      !Number.isSafeInteger(size) ||
      (size as number) < 0 ||
      (size as number) % KINDS[type]!.BYTES_PER_ELEMENT !== 0
    ) {
      return `sizes[${i}] is not a non-negative multiple of ${KINDS[type]!.BYTES_PER_ELEMENT} bytes`;
    }
  }
  return undefined;
}

/** Refuses an announced set of attachments that is not plausible, before any of it is allocated. */
export function checkAttachments(sizes: readonly number[], types: readonly string[], maxBytes: number): void {
  const problem = attachmentListProblem(sizes, types);
  if (problem !== undefined) throw new OiafedError('BAD_FRAME', `malformed attached frame: ${problem}`);
  let total = 0;
  for (const size of sizes) total += size;
  if (total > maxBytes)
    throw new OiafedError(
      'PAYLOAD_TOO_LARGE',
      `attachments of ${total} bytes exceed the limit of ${maxBytes} bytes`,
    );
}

/**
 * Puts the received attachments back where their refs stand. `buffers` and `types` are those
 * checkAttachments let through; a ref to none of them is BAD_FRAME, and nothing else is thrown.
 */
export function restoreAttachments(
  frame: Envelope,
  buffers: readonly Uint8Array[],
  types: readonly string[],
): Envelope {
  const walk = (value: unknown, depth: number): unknown => {
    if (value instanceof AttachmentRef) return attachment(value.index, buffers, types);
    if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || depth >= MAX_DEPTH)
      return value;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = walk(value[i], depth + 1);
      return value;
    }
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    for (const [k, item] of Object.entries(value))
      (value as Record<string, unknown>)[k] = walk(item, depth + 1);
    return value;
  };
  return walk(frame, -1) as Envelope;
}

function attachment(index: number, buffers: readonly Uint8Array[], types: readonly string[]): TypedArray {
  const buffer = Number.isInteger(index) && index >= 0 && index < buffers.length ? buffers[index] : undefined;
  const type = types[index];
  if (buffer === undefined || !isAttachmentType(type))
    throw new OiafedError('BAD_FRAME', `reference to missing attachment ${boundedText(index)}`);
  const Kind = KINDS[type]!;
  if (buffer.byteLength % Kind.BYTES_PER_ELEMENT !== 0)
    throw new OiafedError('BAD_FRAME', `attachment ${index} is not a whole number of ${type} elements`);
  // A view must start at a multiple of its element size; memory that does not is copied to memory that does.
  const aligned = buffer.byteOffset % Kind.BYTES_PER_ELEMENT === 0 ? buffer : new Uint8Array(buffer);
  return new Kind(
    aligned.buffer as ArrayBuffer,
    aligned.byteOffset,
    aligned.byteLength / Kind.BYTES_PER_ELEMENT,
  );
}
