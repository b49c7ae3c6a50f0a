import { describe, expect, it } from 'vitest';
import { dequantizeInto, quantizationError, quantizationLevels, quantizeInto } from './quantize.js';

describe('quantisation for secure aggregation', () => {
  it('keeps n weighted encodings below 2^bits', () => {
    const levels = quantizationLevels(32, 100, 1_000);
    expect(levels).toBe(Math.floor(4294967295 / 100_000) + 1);
    // The worst case: every learner at the top level with the most examples, plus the weights themselves.
    expect((levels - 1) * 100 * 1_000).toBeLessThan(2 ** 32);
    expect(quantizationLevels(8, 300, 1)).toBe(1);
  });

  it('maps -clip, 0 and clip to the bottom, middle and top levels, and clips beyond', () => {
    const out = new Uint32Array(5);
    quantizeInto(Float32Array.from([-1, 0, 1, 5, -5]), 1, 11, 3, out, 0);
    expect([...out]).toEqual([0, 15, 30, 30, 0]);
  });

  it('gives back the example-weighted mean of the clipped values within half a step', () => {
    const clip = 0.5;
    const levels = 1001;
    const a = Float32Array.from([0.1234, -0.4999, 0.3, 0.75]);
    const b = Float32Array.from([-0.2, 0.01, 0.2999, -0.9]);
    const sums = new Uint32Array(4);
    const qa = new Uint32Array(4);
    const qb = new Uint32Array(4);
    quantizeInto(a, clip, levels, 3, qa, 0);
    quantizeInto(b, clip, levels, 1, qb, 0);
    for (let i = 0; i < 4; i++) sums[i] = qa[i]! + qb[i]!;
    const mean = new Float32Array(4);
    dequantizeInto(sums, 0, 4, clip, levels, mean);
    const clipped = (v: number) => Math.max(-clip, Math.min(clip, v));
    for (let i = 0; i < 4; i++) {
      const exact = (3 * clipped(a[i]!) + clipped(b[i]!)) / 4;
      expect(Math.abs(mean[i]! - exact)).toBeLessThanOrEqual(quantizationError(clip, levels) + 1e-7);
    }
  });
});
