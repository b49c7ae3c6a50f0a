import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Codec } from '@oiafed/core/internal';
import { decodedSize } from '../../core/src/wire/decoded-size.js';

// The estimate of decoded-size.ts against the heap V8 really takes, measured here with forced
// collections around one decode (values made large enough that the rest of the heap is noise).
// Node only: the browser has no forced collection.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const codec = new Codec({ maxDecodedBytes: 1024 * 1024 * 1024 });
const n = 100_000;

/** Honest values, and the attack's tokens, each repeated to a few MiB decoded. */
const values: Record<string, () => unknown> = {
  'weights (Float32Array, 16 MiB)': () => ({ w: new Float32Array(4 * 1024 * 1024) }),
  'metrics records': () => Array.from({ length: n }, (_, i) => ({ loss: i / 7, accuracy: 0.5, round: i })),
  'records of 40 shapes (layouts redefined)': () =>
    Array.from({ length: n }, (_, i) => ({ [`m${i % 40}`]: i / 7, round: i, name: `learner-${i}` })),
  'Maps of strings': () =>
    Array.from(
      { length: n },
      (_, i) =>
        new Map([
          [`k${i}`, `value-${i}`],
          ['b', 2],
        ]),
    ),
  Sets: () => Array.from({ length: n }, (_, i) => new Set([i, i + 1])),
  'small typed arrays': () => Array.from({ length: n }, () => new Float32Array(16)),
  'arrays of floats': () =>
    Array.from({ length: n / 10 }, (_, i) => Array.from({ length: 100 }, (_, j) => i + j / 3)),
  strings: () => Array.from({ length: n }, (_, i) => `a string of some length ${i}`),
  'nested objects': () => Array.from({ length: n }, (_, i) => ({ a: { b: { c: [i, 'x', null] } } })),
  'empty Maps': () => Array.from({ length: n }, () => new Map()),
  'empty arrays': () => Array.from({ length: n }, () => []),
  nils: () => Array.from({ length: n * 10 }, () => null),
  Errors: () => Array.from({ length: n }, (_, i) => new Error(`e${i}`)),
  Dates: () => Array.from({ length: n }, (_, i) => new Date(i)),
};

/** What one decode of `bytes` keeps, after one to warm msgpackr's caches and let go of earlier tests' memory. */
function heapOf(bytes: Uint8Array): number {
  codec.decodeValue(bytes);
  gc();
  gc();
  const before = process.memoryUsage();
  const kept = codec.decodeValue(bytes);
  gc();
  const after = process.memoryUsage();
  if (kept === undefined) throw new Error('nothing decoded');
  return after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
}

describe('decodedSize against the heap a decode takes (Node)', () => {
  const rows: string[] = [];
  for (const [name, make] of Object.entries(values)) {
    it(`estimates ${name} within 0.75-3x of the heap it keeps`, () => {
      const bytes = codec.encodeValue(make());
      const estimate = decodedSize(bytes, Number.POSITIVE_INFINITY);
      const actual = heapOf(bytes);
      const ratio = estimate / actual;
      rows.push(
        `${name}: frame ${bytes.byteLength} B, estimate ${estimate} B, heap ${actual} B, estimate/heap ${ratio.toFixed(2)}, heap/frame ${(actual / bytes.byteLength).toFixed(2)}`,
      );
      // Measured 1.0-1.6x; 2.6x for layouts redefined record after record, garbage at once but counted.
      expect(ratio).toBeGreaterThan(0.75);
      expect(ratio).toBeLessThan(3);
    });
  }
  it('prints the figures', () => {
    console.log(rows.join('\n'));
    expect(rows.length).toBe(Object.keys(values).length);
  });
});
