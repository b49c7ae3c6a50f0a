/**
 * Values sent unchanged to many peers (a round's global model, a model compressed once for all
 * learners): while one is shared, every codec encodes it once and splices those bytes into each
 * frame that holds it, and a framed link takes its large typed arrays out once. Keyed on the
 * object's identity, so the sender promises not to change it (or anything in it) while it is
 * shared: the bytes encoded first are the ones every later frame carries.
 */

/** What a shared value has cost so far: made once, reused by every frame that holds it. */
interface SharedEntry {
  /** shareValue calls not yet released. */
  holds: number;
  /** Its MessagePack bytes (codec.ts), once a codec has encoded it. */
  bytes?: Uint8Array;
  /** It with its large typed arrays taken out (attachments.ts), once a framed link has done so. */
  extracted?: SharedExtraction;
}

/** A shared value's large typed arrays taken out: `value` holds refs 0.. to `arrays`. */
export interface SharedExtraction {
  value: unknown;
  arrays: ArrayBufferView[];
  types: string[];
  /** How deep below the payload it was met: its refs are where a walk from that depth puts them. */
  depth: number;
}

const shared = new WeakMap<object, SharedEntry>();
/** Values shared now: while none are, frames are encoded without looking for them. */
let sharedCount = 0;

/** How often a shared value's bytes or extraction were made (each is once per value): for tests and benchmarks. */
export const sharedValueStats = { encodes: 0, extractions: 0 };

/**
 * Shares `value` until the returned function is called (holds nest: it stays shared until each is
 * released). Released, it is forgotten with its bytes, and later frames encode it afresh.
 */
export function shareValue(value: object): () => void {
  let entry = shared.get(value);
  if (entry === undefined) {
    entry = { holds: 0 };
    shared.set(value, entry);
    sharedCount += 1;
  }
  entry.holds += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const held = shared.get(value);
    if (held === undefined || --held.holds > 0) return;
    shared.delete(value);
    sharedCount -= 1;
    // Its extraction (shared in turn, so its own bytes are reused) goes with it.
    const inner = held.extracted?.value;
    if (typeof inner === 'object' && inner !== null && shared.delete(inner)) sharedCount -= 1;
  };
}

/** Whether any value is shared now (a frame without one need not be searched). */
export function anyShared(): boolean {
  return sharedCount > 0;
}

/** `value`'s bytes, made by `encode` the first time while it is shared; undefined when it is not shared. */
export function sharedBytes(value: object, encode: (value: object) => Uint8Array): Uint8Array | undefined {
  const entry = shared.get(value);
  if (entry === undefined) return undefined;
  if (entry.bytes === undefined) {
    entry.bytes = encode(value);
    sharedValueStats.encodes += 1;
  }
  return entry.bytes;
}

/**
 * `value` with its large typed arrays taken out by `extract`, made the first time while it is
 * shared (and shared itself, so that its bytes too are made once); undefined when it is not shared.
 */
export function sharedExtraction(
  value: object,
  extract: (value: object) => SharedExtraction,
): SharedExtraction | undefined {
  const entry = shared.get(value);
  if (entry === undefined) return undefined;
  if (entry.extracted === undefined) {
    const extracted = extract(value);
    entry.extracted = extracted;
    sharedValueStats.extractions += 1;
    const inner = extracted.value;
    if (typeof inner === 'object' && inner !== null && !shared.has(inner)) {
      shared.set(inner, { holds: 1 });
      sharedCount += 1;
    }
  }
  return entry.extracted;
}

/** Whether `value` is shared now. */
export function isShared(value: object): boolean {
  return shared.has(value);
}
