import { f16round } from '@petamoriken/float16';
import { describe, expect, it } from 'vitest';
import { float16Values, toFloat16 } from './float16.js';
import { toInt8Blocks } from './int8.js';
import { topK, topKCount } from './top-k.js';
import { decodeTensor, encodedProblem, encodeTensor, type CodecSettings } from './tensor-codec.js';

const SETTINGS: CodecSettings = { blockSize: 2, fraction: 0.5 };
const halves = (values: number[]) => Array.from(toFloat16(Float32Array.from(values)));

describe('fp16', () => {
  it('encodes known floats to their IEEE 754 binary16 bits, ties to even', () => {
    // 0.1 -> 0x2e66 (0.0999755859375), 1/3 -> 0x3555 (0.333251953125), 65504 the largest half,
    // 2^-24 the smallest subnormal, 2^-25 a tie that rounds to the even 0, 1.5 * 2^-25 up to 2^-24.
    expect(halves([0.1, 1 / 3, 1, -2, 65504, 2 ** -24, 2 ** -25, 1.5 * 2 ** -25, 0, -0])).toEqual([
      0x2e66, 0x3555, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x0000, 0x0001, 0x0000, 0x8000,
    ]);
    // 1 + 2^-11 is halfway between 1 and the next half: ties to the even 1; 1 + 3 * 2^-11 to 1 + 2^-9.
    expect(halves([1 + 2 ** -11, 1 + 3 * 2 ** -11])).toEqual([0x3c00, 0x3c02]);
  });

  it('saturates beyond the half range instead of making an infinite update', () => {
    expect(halves([70000, -1e30, Infinity, 65520])).toEqual([0x7bff, 0xfbff, 0x7bff, 0x7bff]);
  });

  it('decodes to the value @petamoriken/float16 rounds to, for 100,000 values across the range', () => {
    const values = new Float32Array(100_000);
    let seed = 7;
    for (let i = 0; i < values.length; i++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      values[i] = (seed / 2 ** 32 - 0.5) * 2 ** ((i % 40) - 24);
    }
    const table = float16Values();
    const bits = toFloat16(values);
    const wrong: number[] = [];
    for (let i = 0; i < values.length; i++)
      if (table[bits[i]!] !== Math.fround(f16round(values[i]!))) wrong.push(i);
    expect(wrong).toEqual([]);
  });
});

describe('int8 with per-block scales', () => {
  it('quantises a known tensor: scale max|x| / 127 per block, values within scale / 2', () => {
    const data = Float32Array.from([0.5, -1.27, 0.01, 1.27, 0.3]);
    const { scales, values } = toInt8Blocks(data, 2);
    expect(Array.from(scales)).toEqual([
      Math.fround(1.27 / 127),
      Math.fround(1.27 / 127),
      Math.fround(0.3 / 127),
    ]);
    expect(Array.from(values)).toEqual([50, -127, 1, 127, 127]);
    const decoded = decodeTensor(encodeTensor(data, 'int8', SETTINGS), data.length, SETTINGS);
    for (let i = 0; i < data.length; i++)
      expect(Math.abs(decoded[i]! - data[i]!)).toBeLessThanOrEqual(scales[i >> 1]! / 2 + 1e-7);
  });

  it('keeps every error within half its block scale on a random tensor', () => {
    const data = new Float32Array(10_000).map((_, i) => Math.sin(i) * (1 + (i % 97)));
    const settings = { blockSize: 256, fraction: 1 };
    const encoded = encodeTensor(data, 'int8', settings);
    const decoded = decodeTensor(encoded, data.length, settings);
    const scales = (encoded as { scales: Float32Array }).scales;
    const beyond = data.filter(
      (x, i) => Math.abs(decoded[i]! - x) > (scales[Math.floor(i / 256)]! / 2) * (1 + 1e-6),
    );
    expect(Array.from(beyond)).toEqual([]);
  });

  it('gives a block of zeros scale 0 and decodes it to zeros', () => {
    const { scales, values } = toInt8Blocks(new Float32Array(3), 2);
    expect(Array.from(scales)).toEqual([0, 0]);
    expect(Array.from(values)).toEqual([0, 0, 0]);
  });
});

describe('top-k', () => {
  it('keeps the k values of largest magnitude in index order, ties by lowest index', () => {
    const { indices, values } = topK(Float32Array.from([0.1, -5, 3, 0.2, -3, 4]), 3);
    expect(Array.from(indices)).toEqual([1, 2, 5]);
    expect(Array.from(values)).toEqual([-5, 3, 4]);
  });

  it('counts ceil(fraction x n) values, at least one', () => {
    expect(topKCount(1000, 0.01)).toBe(10);
    expect(topKCount(1001, 0.01)).toBe(11);
    expect(topKCount(5, 0.01)).toBe(1);
    expect(topKCount(0, 0.01)).toBe(0);
  });

  it('decodes to the kept values and zero elsewhere, on 100,000 values with many ties', () => {
    const data = new Float32Array(100_000).map((_, i) => ((i * 7919) % 1000) - 500);
    const settings = { blockSize: 256, fraction: 0.01 };
    const decoded = decodeTensor(encodeTensor(data, 'topk', settings), data.length, settings);
    const kept = Array.from(decoded).filter((x) => x !== 0);
    expect(kept).toHaveLength(1000);
    // Values are -500..499, 100 copies each: the 1000 largest magnitudes are -500, +-499..+-496
    // (900 values), then the first 100 of the 200 tied at 495.
    expect(kept.every((x) => Math.abs(x) >= 495)).toBe(true);
    expect(kept.filter((x) => Math.abs(x) === 495)).toHaveLength(100);
  });
});

describe('checking a peer payload before it is decoded', () => {
  const n = 4;
  const bad: [string, unknown, RegExp][] = [
    ['fp16 of the wrong length', { kind: 'fp16', bits: new Uint16Array(3) }, /Uint16Array of 4/],
    [
      'fp16 holding infinity',
      { kind: 'fp16', bits: Uint16Array.from([0, 0x7c00, 0, 0]) },
      /value 1 is not finite/,
    ],
    [
      'fp16 holding NaN',
      { kind: 'fp16', bits: Uint16Array.from([0, 0, 0x7e00, 0]) },
      /value 2 is not finite/,
    ],
    ['fp16 as a Float32Array', { kind: 'fp16', bits: new Float32Array(4) }, /Uint16Array/],
    [
      'int8 of the wrong length',
      { kind: 'int8', scales: new Float32Array(2), values: new Int8Array(5) },
      /Int8Array of 4/,
    ],
    [
      'int8 with a block missing',
      { kind: 'int8', scales: new Float32Array(1), values: new Int8Array(4) },
      /2 blocks/,
    ],
    [
      'int8 with a NaN scale',
      { kind: 'int8', scales: Float32Array.from([1, NaN]), values: new Int8Array(4) },
      /scale 1 is NaN/,
    ],
    [
      'int8 with an infinite scale',
      { kind: 'int8', scales: Float32Array.from([Infinity, 1]), values: new Int8Array(4) },
      /scale 0/,
    ],
    [
      'int8 with a negative scale',
      { kind: 'int8', scales: Float32Array.from([-1, 1]), values: new Int8Array(4) },
      /scale 0 is -1/,
    ],
    [
      'int8 with a scale that overflows',
      { kind: 'int8', scales: Float32Array.from([1e37, 1]), values: new Int8Array(4) },
      /scale 0/,
    ],
    [
      'int8 holding -128',
      { kind: 'int8', scales: Float32Array.from([1, 1]), values: Int8Array.from([0, 0, -128, 0]) },
      /-128/,
    ],
    [
      'top-k with too many values',
      { kind: 'topk', indices: Uint32Array.from([0, 1, 2]), values: new Float32Array(3) },
      /at most 2/,
    ],
    [
      'top-k with an index out of range',
      { kind: 'topk', indices: Uint32Array.from([1, 4]), values: new Float32Array(2) },
      /index 4 is outside/,
    ],
    [
      'top-k with a repeated index',
      { kind: 'topk', indices: Uint32Array.from([2, 2]), values: new Float32Array(2) },
      /strictly ascending/,
    ],
    [
      'top-k with unsorted indices',
      { kind: 'topk', indices: Uint32Array.from([3, 1]), values: new Float32Array(2) },
      /strictly ascending/,
    ],
    [
      'top-k with fewer values than indices',
      { kind: 'topk', indices: Uint32Array.from([1, 3]), values: new Float32Array(1) },
      /as long as the indices/,
    ],
    [
      'top-k with a NaN value',
      { kind: 'topk', indices: Uint32Array.from([1, 3]), values: Float32Array.from([1, NaN]) },
      /index 3 is NaN/,
    ],
    ['another codec than agreed', { kind: 'fp16', bits: new Uint16Array(4) }, /is not in int8/],
    ['no object at all', 'int8', /not an encoded tensor/],
  ];
  it.each(bad)('refuses %s', (_, value, message) => {
    const codec = _.includes('another codec') ? 'int8' : ((value as { kind?: string }).kind ?? 'int8');
    expect(encodedProblem(value, n, codec as 'fp16', SETTINGS)).toMatch(message);
  });

  it('accepts what the encoder made', () => {
    const data = Float32Array.from([1, -2, 3, -4]);
    for (const codec of ['fp16', 'int8', 'topk'] as const)
      expect(encodedProblem(encodeTensor(data, codec, SETTINGS), n, codec, SETTINGS)).toBeUndefined();
  });
});
