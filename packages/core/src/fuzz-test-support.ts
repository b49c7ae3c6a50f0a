import fc from 'fast-check';
import type { Codec } from './wire/codec.js';
import type { Envelope } from './wire/envelope.js';
import { OiafedError } from './wire/errors.js';

/*
 * What the fuzz tests share: how a run is seeded, frames of every kind, hostile values, and the
 * ways bytes get mangled. A failure's message carries fast-check's seed and path; run the test file
 * again with FUZZ_SEED=<seed> (and FUZZ_PATH=<path> to go straight to the shrunk case) to see it again.
 */

const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};

/** fast-check settings for `numRuns` cases, seeded from FUZZ_SEED when it is set (else a new seed each run). */
export function fuzzSettings(numRuns: number): fc.Parameters<unknown> {
  const seed = env.FUZZ_SEED === undefined ? undefined : Number(env.FUZZ_SEED);
  return {
    numRuns,
    ...(seed === undefined ? {} : { seed }),
    ...(env.FUZZ_PATH === undefined ? {} : { path: env.FUZZ_PATH }),
  };
}

/** Codes a peer's bad bytes may earn: anything else thrown is a bug in the wire. */
export const PEER_ERROR_CODES: ReadonlySet<string> = new Set([
  'BAD_FRAME',
  'PAYLOAD_TOO_LARGE',
  'OVERLOADED',
]);

/** Throws (failing the property) unless `error` is a typed error for a peer's input, with a bounded message. */
export function expectPeerError(error: unknown): asserts error is OiafedError {
  if (!(error instanceof OiafedError) || !PEER_ERROR_CODES.has(error.code)) {
    throw new Error(
      `not a typed error for bad input: ${error instanceof Error ? `${error.name}: ${error.message}` : typeof error}`,
      { cause: error },
    );
  }
  if (error.message.length > 512)
    throw new Error(`error message of ${error.message.length} characters: ${error.message.slice(0, 80)}…`);
}

const nodeId = fc.constantFrom('hub', 'learner-1', 'l2');
const id = fc.integer({ min: 0, max: 2 ** 31 - 1 });
const text = fc.string({ maxLength: 24 });
/** msgpackr writes -0 as the integer 0: a difference of MessagePack, not of ours. */
const number = fc.double().map((x) => (Object.is(x, -0) ? 0 : x));
const payload = fc.oneof(
  fc.constant(null),
  fc.integer(),
  number,
  text,
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 6 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.integer(), text), { maxKeys: 4 }),
  fc.float32Array({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 16 }),
);
const meta = fc.option(fc.dictionary(fc.string({ maxLength: 6 }), text, { maxKeys: 3 }), { nil: undefined });
const wireError = fc.record(
  {
    name: text,
    message: text,
    code: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    protocol: fc.option(fc.boolean(), { nil: undefined }),
    cause: fc.option(fc.record({ name: text, message: text }), { nil: undefined }),
  },
  { requiredKeys: ['name', 'message'] },
);

/** Without undefined fields: a frame as a decoder gives it back. */
const compact = <T extends object>(frame: T): T =>
  Object.fromEntries(Object.entries(frame).filter(([, v]) => v !== undefined)) as T;
const routed = <T extends object>(frame: fc.Arbitrary<T>) =>
  fc
    .tuple(
      frame,
      fc.option(fc.record({ src: nodeId, dst: fc.constantFrom('hub', 'learner-1', '*') }), {
        nil: undefined,
      }),
    )
    .map(([f, ends]) => compact({ ...f, ...ends }));

const dataFrame = fc.oneof(
  routed(
    fc.record({
      kind: fc.constant('call' as const),
      id,
      method: text,
      args: fc.array(payload, { maxLength: 3 }),
      meta,
    }),
  ),
  routed(fc.record({ kind: fc.constant('result' as const), id, value: payload, meta })),
  routed(fc.record({ kind: fc.constant('event' as const), id, name: text, payload, meta })),
);

/** A valid frame of every kind there is. */
export const anyFrame: fc.Arbitrary<Envelope> = fc.oneof(
  dataFrame,
  routed(
    fc.record({
      kind: fc.constant('error' as const),
      id,
      error: wireError,
      event: fc.option(text, { nil: undefined }),
    }),
  ),
  routed(
    fc.record({ kind: fc.constant('cancel' as const), id, reason: fc.option(text, { nil: undefined }) }),
  ),
  routed(fc.record({ kind: fc.constant('ack' as const), id })),
  fc
    .record({
      kind: fc.constant('hello' as const),
      version: fc.constant(2),
      src: nodeId,
      role: fc.constantFrom('learner', 'trainer'),
      token: fc.option(text, { nil: undefined }),
      resume: fc.option(text, { nil: undefined }),
      capabilities: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }),
      metadata: fc.dictionary(fc.string({ maxLength: 6 }), payload, { maxKeys: 3 }),
    })
    .map(compact),
  fc.record({
    kind: fc.constant('welcome' as const),
    version: fc.constant(2),
    src: nodeId,
    dst: nodeId,
    role: fc.constantFrom('learner', 'trainer'),
  }),
  fc
    .record({ kind: fc.constant('bye' as const), src: nodeId, reason: fc.option(text, { nil: undefined }) })
    .map(compact),
  fc.record({ kind: fc.constantFrom('ping' as const, 'pong' as const), t: number.filter(Number.isFinite) }),
  fc.record({ kind: fc.constant('limits' as const), maxMessage: fc.integer({ min: 1, max: 2 ** 30 }) }),
  fc.record({
    kind: fc.constant('chunk' as const),
    id: fc.nat(40),
    index: fc.nat(4),
    count: fc.nat(5),
    data: fc.uint8Array({ maxLength: 64 }),
  }),
  fc
    .record({
      frame: dataFrame,
      kinds: fc.array(fc.constantFrom('Float32Array', 'Uint8Array', 'Float64Array', 'BigInt64Array'), {
        minLength: 1,
        maxLength: 3,
      }),
      elements: fc.nat(64),
    })
    .map(({ frame, kinds, elements }) => ({
      kind: 'attached' as const,
      frame,
      types: kinds,
      sizes: kinds.map((k) => elements * (k === 'Uint8Array' ? 1 : k === 'Float32Array' ? 4 : 8)),
    })),
);

/** An object nested `depth` deep, as msgpackr can still write it. */
const nested = (depth: number): unknown => {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { cause: value, message: 'm', name: 'E' };
  return value;
};

/** Values that broke frame handling before: wrong types, non-callable toString, sizes past every limit. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    { toString: 1, valueOf: 1 },
    NaN,
    Infinity,
    -Infinity,
    -1,
    1.5,
    2 ** 31,
    2 ** 53,
    -0,
    null,
    undefined,
    [],
    {},
    [[[[]]]],
    'constructor',
    '__proto__',
    JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}'),
    { constructor: 'x', toString: 'y', hasOwnProperty: 1 },
    'x'.repeat(70_000),
    nested(300),
    new Map([[1, 2]]),
    new Date(0),
    new Uint8Array(3),
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.anything({
    maxDepth: 3,
    maxKeys: 4,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withBigInt: true,
  }),
);

/** `frame` with one field (or one nested field of its error or inner frame) replaced by `value`. */
export function withField(frame: Envelope, pick: number, value: unknown): Envelope {
  const fields = frame as unknown as Record<string, unknown>;
  const paths = Object.keys(fields).map((k) => [k]);
  if (typeof fields.error === 'object')
    paths.push(['error', 'name'], ['error', 'message'], ['error', 'cause'], ['error', 'code']);
  if (typeof fields.frame === 'object')
    paths.push(['frame', 'kind'], ['frame', 'id'], ['frame', 'method'], ['frame', 'src']);
  const path = paths[pick % paths.length]!;
  if (path.length === 1) return { ...fields, [path[0]!]: value } as unknown as Envelope;
  const inner = fields[path[0]!] as Record<string, unknown>;
  return { ...fields, [path[0]!]: { ...inner, [path[1]!]: value } } as unknown as Envelope;
}

/** One way of damaging an encoded frame. */
export type Mutation =
  | { type: 'flip'; at: number; byte: number }
  | { type: 'insert'; at: number; bytes: Uint8Array }
  | { type: 'delete'; at: number; count: number }
  | { type: 'truncate'; at: number }
  | { type: 'define'; at: number; slot: number; high: number | undefined };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ type: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    type: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ type: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ type: fc.constant('truncate' as const), at: fc.nat() }),
  // A record definition (msgpackr's 0x72 extension) spliced in: one-byte or two-byte id, any slot.
  fc.record({
    type: fc.constant('define' as const),
    at: fc.nat(),
    slot: fc.integer({ min: 0, max: 63 }),
    high: fc.option(fc.integer({ min: 0, max: 255 }), { nil: undefined }),
  }),
);

export function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = Array.from(bytes);
  for (const m of mutations) {
    const at = m.at % (out.length + 1);
    switch (m.type) {
      case 'flip':
        if (out.length > 0) out[at % out.length] = m.byte;
        break;
      case 'insert':
        out.splice(at, 0, ...m.bytes);
        break;
      case 'delete':
        out.splice(at, m.count);
        break;
      case 'truncate':
        out = out.slice(0, at);
        break;
      case 'define': {
        const head = m.high === undefined ? [0xd4, 0x72, 0x40 + m.slot] : [0xd5, 0x72, 0x40 + m.slot, m.high];
        // The layout: a list of one to three short keys, as a definition carries it.
        out.splice(at, 0, ...head, 0x92, 0xa4, 0x6b, 0x69, 0x6e, 0x64, 0xa1, 0x74);
        break;
      }
    }
  }
  return Uint8Array.from(out);
}

/** `frame` as bytes, or undefined when msgpackr cannot write it (too deep, or a hostile value it refuses). */
export function encoded(codec: Codec, frame: Envelope): Uint8Array | undefined {
  try {
    return codec.encode(frame);
  } catch {
    return undefined;
  }
}
