import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { Codec } from '../wire/codec.js';
import { PROTOCOL_VERSION } from '../wire/envelope.js';
import { FramedLink } from '../links/framed-link.js';
import { MemoryPort } from '../links/memory-channel.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from './node.js';
import { closeCodeFor } from '../links/web-socket.js';

// Property-based fuzzing of a node's frame handling (issue #11; the decoder alone is fuzzed in
// codec.fuzz.test.ts): random and mutated valid frames of every kind, before and after the handshake, written
// as bytes at a trainer node and at a learner node. Whatever comes in: nothing escapes as an uncaught
// exception, nothing hangs, a link the node rejects is closed with a typed reason, and the node serves a
// fresh honest link afterwards. FUZZ_SEED=<seed> replays a run, FUZZ_RUNS=<n> sets its length (cases per
// property), FUZZ_SHRINK=1 shrinks a failing case to a smaller one.

const proc = (
  globalThis as {
    process?: {
      env: Record<string, string | undefined>;
      on(e: string, l: (error: unknown) => void): void;
      off(e: string, l: (error: unknown) => void): void;
    };
  }
).process;
const env = proc?.env ?? {};
const SEED =
  env.FUZZ_SEED === undefined ? Date.now() ^ Math.floor(Math.random() * 0x7fffffff) : Number(env.FUZZ_SEED);
/** Cases per property: fewer in browsers, where the same file runs too. */
const RUNS = Number(env.FUZZ_RUNS ?? (proc ? 10_000 : 1_500));
const TOKEN = 'tok';
/** Ms a case may take before it counts as a hang. */
const CASE_MS = 2_000;

/** Uncaught exceptions and unhandled rejections, in Node and in browsers alike. */
const escaped: unknown[] = [];
const recordEscape = (error: unknown) => void escaped.push(error);
interface ErrorEventLike {
  error?: unknown;
  reason?: unknown;
}
const page = globalThis as unknown as {
  addEventListener?(type: string, l: (e: ErrorEventLike) => void): void;
  removeEventListener?(type: string, l: (e: ErrorEventLike) => void): void;
};
const onPageError = (event: ErrorEventLike) => recordEscape(event.error ?? event.reason);
if (proc) {
  proc.on('uncaughtException', recordEscape);
  proc.on('unhandledRejection', recordEscape);
} else {
  page.addEventListener?.('error', onPageError);
  page.addEventListener?.('unhandledrejection', onPageError);
}
afterAll(() => {
  if (proc) {
    proc.off('uncaughtException', recordEscape);
    proc.off('unhandledRejection', recordEscape);
  } else {
    page.removeEventListener?.('error', onPageError);
    page.removeEventListener?.('unhandledrejection', onPageError);
  }
});

// ---- what a hostile peer writes --------------------------------------------------------------

/** Values no well-behaved node sends where a string or number belongs. */
const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant({ toString: 1, valueOf: 1 }),
  fc.constant({ toString: 'x', message: { toString: 1 } }),
  fc.constantFrom(
    null,
    undefined,
    true,
    -1,
    0,
    1e30,
    -0,
    Number.NaN,
    Infinity,
    2 ** 53,
    'constructor',
    '__proto__',
    'toString',
    '',
  ),
  fc.string({ maxLength: 40 }),
  fc.integer(),
  fc.double(),
  fc.uint8Array({ maxLength: 64 }),
  fc.float32Array({ maxLength: 16 }),
  fc.array(fc.oneof(fc.string({ maxLength: 8 }), fc.integer()), { maxLength: 4 }),
  fc.dictionary(
    fc.constantFrom('a', 'kind', 'message', 'toString', 'valueOf', '__proto__'),
    fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.constant({ toString: 1 })),
    { maxKeys: 3 },
  ),
  fc.string({ minLength: 1_000, maxLength: 3_000 }),
);

/**
 * Mostly a plausible value, sometimes a hostile one: frames get past the first checks often enough to reach
 * deeper code.
 */
const field = <T>(valid: fc.Arbitrary<T>, weight = 3): fc.Arbitrary<unknown> =>
  fc.oneof({ weight, arbitrary: valid }, { weight: 1, arbitrary: hostile });

/** Request ids near those a node hands out, and some far away. */
const id = field(fc.oneof(fc.nat({ max: 40 }), fc.integer()));
const peerId = field(fc.constantFrom('trainer', 'learner', 'honest', 'x', '*', 'fz-1'));
const name = field(
  fc.constantFrom(
    'echo',
    'add',
    'train',
    'getWeights',
    'note',
    'missing',
    'constructor',
    '__proto__',
    'hasOwnProperty',
  ),
);
const payload = field(
  fc.oneof(
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.float32Array({ maxLength: 8 }),
  ),
);

const wireError: fc.Arbitrary<unknown> = fc.letrec<{ error: unknown }>((tie) => ({
  error: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostile,
    fc.record(
      {
        name: field(fc.constantFrom('Error', 'OiafedError')),
        message: field(fc.string({ maxLength: 20 })),
        code: field(fc.constantFrom('BAD_FRAME', 'TIMEOUT', 'X')),
        protocol: field(fc.boolean()),
        cause: tie('error'),
      },
      { requiredKeys: ['message'] },
    ),
  ),
})).error;

/** Drops the keys whose value came out undefined, so some frames miss a field altogether. */
const compact = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 3 });

/** A frame of any kind as a map, its fields drawn plausible or hostile. */
const mapFrame: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .record({
      kind: fc.constant('call'),
      id,
      src: opt(peerId),
      dst: opt(peerId),
      method: name,
      args: field(fc.array(payload, { maxLength: 3 })),
      meta: opt(hostile),
    })
    .map(compact),
  fc
    .record({
      kind: fc.constant('result'),
      id,
      src: opt(peerId),
      dst: opt(peerId),
      value: payload,
      meta: opt(hostile),
    })
    .map(compact),
  fc
    .record({
      kind: fc.constant('error'),
      id,
      src: opt(peerId),
      dst: opt(peerId),
      error: wireError,
      event: opt(name),
    })
    .map(compact),
  fc
    .record({
      kind: fc.constant('event'),
      id,
      src: opt(peerId),
      dst: opt(peerId),
      name,
      payload,
      meta: opt(hostile),
    })
    .map(compact),
  fc
    .record({
      kind: fc.constant('cancel'),
      id,
      src: opt(peerId),
      dst: opt(peerId),
      reason: opt(field(fc.string({ maxLength: 20 }))),
    })
    .map(compact),
  fc.record({ kind: fc.constant('ack'), id, src: opt(peerId), dst: opt(peerId) }).map(compact),
  fc
    .record({
      kind: fc.constant('hello'),
      version: field(fc.constant(PROTOCOL_VERSION)),
      src: peerId,
      role: field(fc.constantFrom('learner', 'trainer')),
      token: opt(field(fc.constant(TOKEN))),
      resume: opt(hostile),
      capabilities: field(fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 })),
      metadata: field(fc.dictionary(fc.string({ maxLength: 6 }), payload, { maxKeys: 3 })),
    })
    .map(compact),
  fc
    .record({
      kind: fc.constant('welcome'),
      version: field(fc.constant(PROTOCOL_VERSION)),
      src: peerId,
      dst: peerId,
      role: field(fc.constant('trainer')),
      resume: opt(hostile),
    })
    .map(compact),
  fc
    .record({ kind: fc.constant('bye'), src: peerId, reason: opt(field(fc.string({ maxLength: 20 }))) })
    .map(compact),
  fc.record({ kind: fc.constantFrom('ping', 'pong'), t: field(fc.nat()) }),
  fc.record({
    kind: fc.constant('chunk'),
    id,
    index: field(fc.nat({ max: 3 })),
    count: field(fc.nat({ max: 4 })),
    data: field(fc.uint8Array({ maxLength: 32 })),
  }),
  fc.record({ kind: fc.constant('limits'), maxMessage: field(fc.nat()) }),
  fc.record({
    kind: fc.constant('attached'),
    frame: fc.oneof(
      fc.record({
        kind: fc.constantFrom('call', 'result', 'event'),
        id,
        name,
        method: name,
        args: fc.constant([]),
        value: payload,
        payload,
      }),
      hostile,
    ),
    sizes: field(fc.array(fc.nat({ max: 64 }), { maxLength: 2 })),
    types: field(
      fc.array(fc.constantFrom('Uint8Array', 'Float32Array', 'Object', 'constructor'), { maxLength: 2 }),
    ),
  }),
  fc.record({ kind: hostile }),
);

/** A direct frame as the tuple it travels as (frame-tuples.ts), the code and fields drawn plausible or hostile. */
const tupleFrame: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(fc.constant(0), id, name, field(fc.array(payload, { maxLength: 3 }))),
  fc.tuple(fc.constant(0), id, name, field(fc.array(payload, { maxLength: 3 })), hostile),
  fc.tuple(fc.constant(1), id, payload),
  fc.tuple(fc.constant(2), id, wireError),
  fc.tuple(fc.constant(2), id, wireError, name),
  fc.tuple(fc.constant(3), id, name, payload),
  fc.tuple(fc.constant(4), id),
  fc.tuple(fc.constant(4), id, hostile),
  fc.tuple(fc.constant(5), id),
  fc.array(hostile, { maxLength: 6 }),
);

const codec = new Codec();

/**
 * One message on the wire: a frame encoded as a peer's codec would, then perhaps damaged; or bytes that are
 * no frame at all.
 */
const message: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(mapFrame, tupleFrame).map((frame) => codec.encodeValue(frame).slice()) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.oneof(mapFrame, tupleFrame).map((frame) => codec.encodeValue(frame).slice()),
        fc.array(
          fc.tuple(
            fc.constantFrom('flip', 'cut', 'insert', 'repeat'),
            fc.nat(),
            fc.integer({ min: 0, max: 255 }),
          ),
          { minLength: 1, maxLength: 3 },
        ),
      )
      .map(([bytes, edits]) => mutate(bytes, edits)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 48 }) },
  // Record definitions: the layout redefinition of issue #11 and others like it.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0x40, max: 0x7f }), fc.uint8Array({ maxLength: 12 }))
      .map(([slot, rest]) => Uint8Array.from([0xd4, 0x72, slot, 0x91, 0xa1, 0x78, ...rest])),
  },
);

function mutate(bytes: Uint8Array, edits: [string, number, number][]): Uint8Array {
  let out = bytes;
  for (const [edit, at, value] of edits) {
    const i = out.byteLength === 0 ? 0 : at % out.byteLength;
    if (edit === 'flip' && out.byteLength > 0) (out = out.slice())[i] = value;
    else if (edit === 'cut') out = out.slice(0, i);
    else if (edit === 'insert') out = Uint8Array.from([...out.subarray(0, i), value, ...out.subarray(i)]);
    else if (edit === 'repeat') out = Uint8Array.from([...out, ...out.subarray(i)]);
  }
  return out;
}

const fuzzCase = fc.record({
  afterHandshake: fc.boolean(),
  messages: fc.array(message, { minLength: 1, maxLength: 5 }),
});

// ---- the nodes under attack ------------------------------------------------------------------

/** A raw end of a byte link: what the node sends is decoded where it can be, and the close is kept. */
function rawEnd(port: MemoryPort<Uint8Array>) {
  const decoder = new Codec();
  const frames: Record<string, unknown>[] = [];
  let waiter: { test: (f: Record<string, unknown>) => boolean; resolve: () => void } | undefined;
  let closedWith: string | undefined;
  let onClose: (() => void) | undefined;
  port.listen({
    data: (bytes) => {
      let frame: Record<string, unknown>;
      try {
        frame = decoder.decode(bytes) as unknown as Record<string, unknown>;
      } catch {
        return;
      }
      frames.push(frame);
      if (waiter?.test(frame)) waiter.resolve();
    },
    close: (reason) => {
      closedWith = reason;
      onClose?.();
    },
  });
  return {
    frames,
    send: (bytes: Uint8Array) => !port.closed && port.send(bytes),
    closedWith: () => closedWith,
    /** Resolves once a frame passes `test` or the link closes; rejects after CASE_MS (a hang). */
    until(test: (f: Record<string, unknown>) => boolean): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`hang: neither an answer nor a close within ${CASE_MS} ms`)),
          CASE_MS,
        );
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        if (closedWith !== undefined || frames.some(test)) return done();
        waiter = { test, resolve: done };
        onClose = done;
      });
    },
    close: () => port.close('fuzz case over'),
  };
}

/**
 * Whether the messages hold an attached frame: the messages after it are that frame's attachment
 * bytes, so a probe sent next may be read as attachment bytes and never answered (the node then
 * waits for its peer, which is no hang). Such a case ends with the close instead of a probe.
 */
function announcesAttachments(messages: Uint8Array[]): boolean {
  return messages.some((bytes) => {
    try {
      return new Codec().decode(bytes).kind === 'attached';
    } catch {
      return false;
    }
  });
}

/** A close the node gave a link it rejected: a typed reason (or the peer's own bye). */
function assertTypedClose(reason: string | undefined): void {
  if (reason === undefined || reason === 'fuzz case over' || reason.startsWith('bye')) return;
  expect(closeCodeFor(reason), `close reason ${JSON.stringify(reason)} has no typed code`).not.toBe(1000);
}

function assertNothingEscaped(): void {
  if (escaped.length > 0) {
    const first = escaped.splice(0);
    throw new Error(
      `escaped the node: ${first.map((e) => (e instanceof Error ? (e.stack ?? e.message) : String(e))).join('\n')}`,
    );
  }
}

async function run<T extends [unknown]>(property: fc.IAsyncProperty<T>, runs: number): Promise<void> {
  try {
    // Shrinking re-runs failing cases (a hang costs CASE_MS each): asked for with FUZZ_SHRINK=1.
    await fc.assert(property, { numRuns: runs, seed: SEED, endOnFailure: env.FUZZ_SHRINK !== '1' });
  } catch (error) {
    const cause = (error as Error).cause;
    const why = cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
    throw new Error(`fuzz failure; replay with FUZZ_SEED=${SEED}\n${why}\n${(error as Error).message}`);
  }
}

describe(`fuzzing a node's frame handling (seed ${SEED})`, () => {
  it('a trainer node survives any bytes on an accepted link, before and after hello, and serves a fresh learner after', async () => {
    const trainer = new Node({
      id: 'trainer',
      role: 'trainer',
      heartbeat: false,
      authenticate: TOKEN,
      timeout: CASE_MS,
    });
    trainer.serve({ echo: (x: unknown) => x, add: (a: number, b: number) => a + b });
    trainer.on('note', () => undefined);
    const honest = new Node({ id: 'honest', role: 'learner', heartbeat: false });
    honest.serve({ getWeights: () => [1, 2, 3] });
    await joinInMemory(trainer, honest, { token: TOKEN, strict: true });
    let n = 0;
    try {
      await run(
        fc.asyncProperty(fuzzCase, async ({ afterHandshake, messages }) => {
          const case_ = ++n;
          const [nodeSide, rawSide] = MemoryPort.pair<Uint8Array>();
          trainer.accept(new FramedLink(nodeSide, { codec: new Codec({ maxFrameBytes: 64 * 1024 }) }));
          const raw = rawEnd(rawSide);
          const src = `fz-${case_}`;
          if (afterHandshake)
            raw.send(
              codec
                .encodeValue({
                  kind: 'hello',
                  version: PROTOCOL_VERSION,
                  src,
                  role: 'learner',
                  token: TOKEN,
                  capabilities: [],
                  metadata: {},
                })
                .slice(),
            );
          for (const bytes of messages) raw.send(bytes);
          // The node handles a link's messages in order: its answer to this probe means it handled all of the above.
          const probe = `probe-${case_}`;
          raw.send(
            afterHandshake
              ? codec.encodeValue([0, 2 ** 31 - 1, 'echo', [probe]]).slice()
              : codec
                  .encodeValue({
                    kind: 'hello',
                    version: PROTOCOL_VERSION,
                    src: probe,
                    role: 'learner',
                    token: TOKEN,
                    capabilities: [],
                    metadata: {},
                  })
                  .slice(),
          );
          if (!announcesAttachments(messages))
            await raw.until((f) =>
              afterHandshake ? f.value === probe : f.kind === 'welcome' && f.dst === probe,
            );
          assertNothingEscaped();
          assertTypedClose(raw.closedWith());
          raw.close();
          if (case_ % 500 === 0) trainer.registry.prune();
        }),
        RUNS,
      );
      assertNothingEscaped();
      expect(trainer.closed).toBe(false);
      const fresh = new Node({ id: 'fresh-learner', role: 'learner', heartbeat: false });
      fresh.serve({ getWeights: () => 'fresh' });
      await joinInMemory(trainer, fresh, { token: TOKEN, strict: true });
      expect(await trainer.call('fresh-learner', 'getWeights', [])).toBe('fresh');
      expect(await fresh.call('trainer', 'add', [2, 3])).toBe(5);
      fresh.close();
    } finally {
      honest.close();
      trainer.close();
    }
  }, 60_000);

  it('a learner node survives any bytes from the trainer it joins, before and after the welcome, and joins a fresh trainer after', async () => {
    const learner = new Node({
      id: 'learner',
      role: 'learner',
      heartbeat: false,
      timeout: CASE_MS,
      connectTimeout: CASE_MS,
    });
    learner.serve({ train: (p: unknown) => p, getWeights: () => [1, 2, 3] });
    learner.on('note', () => undefined);
    let n = 0;
    try {
      await run(
        fc.asyncProperty(fuzzCase, async ({ afterHandshake, messages }) => {
          const case_ = ++n;
          const [nodeSide, rawSide] = MemoryPort.pair<Uint8Array>();
          const raw = rawEnd(rawSide);
          const trainerId = `trainer-${case_}`;
          const joined = learner.connect(new FramedLink(nodeSide), { token: TOKEN }).then(
            () => 'welcomed',
            (error: unknown) => error,
          );
          const welcome = codec
            .encodeValue({
              kind: 'welcome',
              version: PROTOCOL_VERSION,
              src: trainerId,
              dst: 'learner',
              role: 'trainer',
            })
            .slice();
          if (afterHandshake) raw.send(welcome);
          for (const bytes of messages) raw.send(bytes);
          const probe = 2 ** 31 - 1;
          // After the welcome, a call the learner answers; before it, the welcome itself (which the learner
          // takes or refuses).
          raw.send(afterHandshake ? codec.encodeValue([0, probe, 'getWeights', []]).slice() : welcome);
          if (afterHandshake) {
            if (!announcesAttachments(messages)) await raw.until((f) => f.id === probe);
          } else {
            // The handshake settles: welcomed, or refused with a typed error; never left hanging.
            const outcome = await Promise.race([
              joined,
              new Promise((resolve) => setTimeout(() => resolve('hang'), CASE_MS)),
            ]);
            expect(outcome, 'hang: the handshake did not settle').not.toBe('hang');
            if (outcome !== 'welcomed')
              expect((outcome as { code?: unknown }).code, String(outcome)).toBeTypeOf('string');
          }
          assertNothingEscaped();
          assertTypedClose(raw.closedWith());
          raw.close();
          await joined;
        }),
        RUNS,
      );
      assertNothingEscaped();
      expect(learner.closed).toBe(false);
      const trainer = new Node({ id: 'fresh-trainer', role: 'trainer', heartbeat: false });
      await joinInMemory(trainer, learner, { strict: true });
      expect(await trainer.call('learner', 'getWeights', [])).toEqual([1, 2, 3]);
      trainer.close();
    } finally {
      learner.close();
    }
  }, 60_000);
});
