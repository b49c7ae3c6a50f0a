import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Codec, DEFAULT_MAX_DECODED_BYTES } from './codec.js';
import { decodedSize, MAX_COST_PER_BYTE } from './decoded-size.js';
import type { Envelope } from './envelope.js';
import { OiafedError } from './errors.js';
import { RecordDecoder } from './record-decoder.js';
import { unpackWithShared } from './shared-bytes.js';
import { shareValue } from './shared-values.js';
import { anyFrame, encoded, fuzzSettings, mutate, mutation } from '../fuzz-test-support.js';

const MiB = 1024 * 1024;
const codec = new Codec();
const decoder = new RecordDecoder();

/** Whether msgpackr (as the codec runs it) decodes `bytes`. */
function msgpackrReads(bytes: Uint8Array): boolean {
  try {
    unpackWithShared(() => decoder.unpack(new Uint8Array(bytes)));
    return true;
  } catch {
    return false;
  }
}

function estimate(bytes: Uint8Array): number {
  return decodedSize(bytes, Number.POSITIVE_INFINITY);
}

/** `count` copies of `token` in one array32: the attack's shape. */
function repeated(token: readonly number[], count: number, head: readonly number[] = []): Uint8Array {
  const out = new Uint8Array(head.length + 5 + token.length * count);
  out.set(head);
  out.set([0xdd, count >>> 24, (count >>> 16) & 0xff, (count >>> 8) & 0xff, count & 0xff], head.length);
  for (let i = 0, at = head.length + 5; i < count; i++, at += token.length) out.set(token, at);
  return out;
}

const call = (args: unknown[]): Envelope => ({
  kind: 'call',
  id: 1,
  src: 'a',
  dst: 'b',
  method: 'train',
  args,
});

/** Values honest peers send, each as a frame. */
const honest: Record<string, Envelope> = {
  'weights (4 Float32Array, 1 MiB)': call([
    {
      round: 3,
      weights: {
        w1: new Float32Array(262_144),
        b1: new Float32Array(256),
        w2: new Float32Array(2_560),
        b2: new Float32Array(10),
      },
    },
  ]),
  'a result with metrics': {
    kind: 'result',
    id: 9,
    src: 'l',
    dst: 't',
    value: {
      weights: { w: new Float32Array(70_000) },
      numExamples: 800,
      metrics: { loss: 0.31, accuracy: 0.9 },
    },
  },
  'metrics objects of 40 shapes (records defined in the message, ids reused past 32)': call([
    Array.from({ length: 2_000 }, (_, i) => ({ [`m${i % 40}`]: i / 7, round: i, name: `learner-${i}` })),
  ]),
  'Maps, Sets, Dates, BigInts': call([
    new Map(Array.from({ length: 500 }, (_, i) => [`k${i}`, new Set([i, i + 1])])),
    Array.from({ length: 300 }, (_, i) => new Date(i * 1e9)),
    Array.from({ length: 300 }, (_, i) => BigInt(i) * 2n ** 70n),
  ]),
  'every typed array': call([
    [
      Int8Array,
      Uint8Array,
      Uint8ClampedArray,
      Int16Array,
      Uint16Array,
      Int32Array,
      Uint32Array,
      Float32Array,
      Float64Array,
    ].map((Kind) => new Kind(4_000)),
    new BigInt64Array(1_000),
    new BigUint64Array(1_000),
  ]),
  'nested objects and arrays of floats': call([
    { a: { b: { c: { d: Array.from({ length: 3_000 }, (_, i) => i * 0.5 + 0.25) } } }, list: [[[['deep']]]] },
  ]),
};

describe('decodedSize', () => {
  for (const [name, frame] of Object.entries(honest)) {
    it(`accepts ${name}, as msgpackr reads it`, () => {
      const bytes = codec.encode(frame);
      expect(bytes.byteLength).toBeGreaterThan(4096);
      expect(estimate(bytes)).toBeGreaterThan(bytes.byteLength / 2);
      expect(msgpackrReads(bytes)).toBe(true);
      expect(codec.decode(bytes)).toEqual(frame);
    });
  }

  it('estimates a weights frame at its size: 16 MiB of Float32Array within 1% of the frame', () => {
    const bytes = codec.encode(call([{ weights: { w: new Float32Array(4 * MiB) } }]));
    expect(estimate(bytes) / bytes.byteLength).toBeGreaterThan(0.99);
    expect(estimate(bytes) / bytes.byteLength).toBeLessThan(1.01);
  });

  it('follows shared values (extension 43) into their own messages', () => {
    const model = {
      weights: { w: new Float32Array(10_000) },
      meta: Array.from({ length: 500 }, (_, i) => ({ i })),
    };
    const release = shareValue(model);
    try {
      const bytes = codec.encode(call([model, 'x']));
      // The 500 records (64 B each) are counted: they are only inside the shared value's bytes.
      expect(estimate(bytes)).toBeGreaterThan(40_000 + 500 * 64);
      expect(codec.decode(bytes)).toEqual(call([model, 'x']));
    } finally {
      release();
    }
  });

  it('accepts every frame msgpackr decodes: frames of every kind, damaged, and random bytes', () => {
    const accepts = (bytes: Uint8Array) => {
      if (!msgpackrReads(bytes)) return;
      const size = estimate(bytes);
      // The bound the codec's skip of small frames rests on.
      expect(size).toBeLessThanOrEqual(MAX_COST_PER_BYTE * bytes.byteLength);
    };
    fc.assert(
      fc.property(anyFrame, fc.array(mutation, { minLength: 1, maxLength: 4 }), (frame, mutations) => {
        const bytes = encoded(codec, frame);
        if (bytes === undefined) return;
        accepts(bytes);
        accepts(mutate(bytes, mutations));
      }),
      fuzzSettings(6_000),
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), accepts), fuzzSettings(6_000));
    const anything = fc.anything({
      maxDepth: 4,
      withMap: true,
      withSet: true,
      withTypedArray: true,
      withBigInt: true,
      withDate: true,
      withNullPrototype: true,
    });
    fc.assert(
      fc.property(anything, (value) => accepts(codec.encodeValue(value))),
      fuzzSettings(3_000),
    );
  });

  it('estimates no frame of the costliest tokens above MAX_COST_PER_BYTE per byte (what lets the codec skip small frames)', () => {
    // An empty map; an Error holding one; an empty Set; a one-byte byte string; a keyless record.
    const costliest = [[0x80], [0xd4, 0x65, 0x00, 0x80], [0xd4, 0x73, 0x00, 0x90], [0xc4, 0x00], [0x4b]];
    for (const token of costliest) {
      const bytes = repeated(token, 10_000, token[0] === 0x4b ? [0x92, 0xd4, 0x72, 0x4b, 0x90] : []);
      expect(msgpackrReads(bytes)).toBe(true);
      expect(estimate(bytes)).toBeLessThanOrEqual(MAX_COST_PER_BYTE * bytes.byteLength);
    }
  });

  it('refuses what msgpackr would read otherwise: bundled strings, structured-clone ids, an unknown extension, a shared layout redefined', () => {
    for (const hex of [
      'd46200c0',
      'd66900000001c0',
      'd4ee00',
      'd4724a91a178c0',
      'd572400091a178c0',
      'c703720000c0',
    ]) {
      const bytes = Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
      expect(() => estimate(bytes), hex).toThrow();
    }
  });
});

describe('Codec.decode of frames that decode to far more than their size', () => {
  const attacks: Record<string, Uint8Array> = {
    'empty maps': repeated([0x80], 8 * MiB),
    'empty arrays': repeated([0x90], 8 * MiB),
    nils: repeated([0xc0], 8 * MiB),
    'empty strings': repeated([0xa0], 8 * MiB),
    'two-character strings': repeated([0xa2, 0x61, 0x62], 3 * MiB),
    'one-byte byte strings': repeated([0xc4, 0x01, 0x00], 3 * MiB),
    // A layout of no keys defined in the message (d4 72 4b 90, one empty record), then references to it.
    'records of a layout with no keys': repeated([0x4b], 8 * MiB, [0x92, 0xd4, 0x72, 0x4b, 0x90]),
    Errors: repeated([0xd4, 0x65, 0x00, 0x90], 2 * MiB),
    'empty typed arrays': repeated([0xd4, 0x74, 0x01], 3 * MiB),
  };

  for (const [name, bytes] of Object.entries(attacks)) {
    it(`refuses ${(bytes.byteLength / MiB).toFixed(0)} MiB of ${name} with BAD_FRAME, before decoding`, () => {
      let error: unknown;
      try {
        codec.decode(bytes);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(OiafedError);
      expect((error as OiafedError).code).toBe('BAD_FRAME');
      expect((error as OiafedError).message).toMatch(/would decode to more than \d+ bytes/);
    });
  }

  it('still decodes a frame of integers that decodes to under 4x its size, and nils up to maxDecodedBytes', () => {
    // 3-byte uint16s: 8 bytes each decoded.
    const small = repeated([0xcd, 0x01, 0x00], MiB);
    expect((codec.decodeValue(small) as number[]).length).toBe(MiB);
    const nils = repeated([0xc0], DEFAULT_MAX_DECODED_BYTES / 8 - 8);
    expect((codec.decodeValue(nils) as null[]).length).toBe(DEFAULT_MAX_DECODED_BYTES / 8 - 8);
  });

  it('takes its limit from maxDecodedBytes: lower, a small frame is refused; higher, 8 MiB of nils is read', () => {
    const nils = repeated([0xc0], 2_000);
    expect(() => new Codec({ maxDecodedBytes: 8 * 1024 }).decodeValue(nils)).toThrow(
      /would decode to more than/,
    );
    const many = repeated([0xc0], 8 * MiB);
    expect((new Codec({ maxDecodedBytes: 128 * MiB }).decodeValue(many) as null[]).length).toBe(8 * MiB);
  });
});
