import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.js';
import { tensor, type Weights } from '../weights.js';
import { ClippedSum } from './clipped-sum.js';
import { clippedUpdate, updateNorm } from './clipping.js';
import { cryptoUniform, GaussianNoise } from './gaussian-noise.js';

const model = (w: number[], b: number): Weights => ({ w: tensor(w), b: tensor([b]) });
const base = model([1, 1, 1], 0.5);

/** Mean and standard deviation of a sample, in doubles. */
function moments(values: Float32Array | Float64Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / (values.length - 1)) };
}

/*
 * For n normal draws of std sigma the sample mean has std sigma/sqrt(n) and the sample std has std
 * about sigma/sqrt(2(n-1)): the bounds below are 5 of those (a false alarm about once in 1.7 million).
 */
const meanBound = (sigma: number, n: number) => (5 * sigma) / Math.sqrt(n);
const stdBound = (sigma: number, n: number) => (5 * sigma) / Math.sqrt(2 * (n - 1));

describe('clipping', () => {
  it('brings an update over the clip to norm exactly C, in its own direction', () => {
    // update (3, 0, 4 | 0): norm 5
    const weights = model([4, 1, 5], 0.5);
    expect(updateNorm(weights, base)).toBe(5);
    const clipped = clippedUpdate(weights, base, 2);
    expect(updateNorm(clipped, model([0, 0, 0], 0))).toBeCloseTo(2, 6);
    expect([...clipped.w!.data]).toEqual([expect.closeTo(1.2, 6), 0, expect.closeTo(1.6, 6)]);
  });

  it('leaves an update within the clip unchanged', () => {
    const weights = model([1.5, 0.5, 1], 0.75);
    const clipped = clippedUpdate(weights, base, 10);
    expect([...clipped.w!.data]).toEqual([0.5, -0.5, 0]);
    expect([...clipped.b!.data]).toEqual([0.25]);
  });

  it('sums clipped updates and counts those the clip left alone', () => {
    const sum = new ClippedSum(base, 1);
    sum.add(model([4, 1, 5], 0.5)); // norm 5: clipped to (0.6, 0, 0.8)
    sum.add(model([1.5, 1, 1], 0.5)); // norm 0.5: kept
    expect(sum.count).toBe(2);
    expect(sum.unclipped).toBe(1);
    expect([...sum.sum.w!.data]).toEqual([expect.closeTo(1.1, 6), 0, expect.closeTo(0.8, 6)]);
  });

  it('takes updates as sent without a clip (distributed mode: the learners clipped)', () => {
    const sum = new ClippedSum(base, undefined);
    sum.add(model([4, 1, 5], 0.5));
    expect([...sum.sum.w!.data]).toEqual([3, 0, 4]);
  });
});

describe('GaussianNoise', () => {
  it('draws N(0, std^2): mean and spread of 200,000 seeded draws within 5 standard errors', () => {
    const n = 200_000;
    const data = new Float32Array(n);
    new GaussianNoise(seededRandom(7)).add(data, 2.5);
    const { mean, std } = moments(data);
    expect(Math.abs(mean)).toBeLessThan(meanBound(2.5, n));
    expect(Math.abs(std - 2.5)).toBeLessThan(stdBound(2.5, n));
  });

  it('draws from the CSPRNG by default: uniform doubles in [0, 1), normal draws of unit spread', () => {
    const uniform = cryptoUniform();
    const n = 100_000;
    const u = Float64Array.from({ length: n }, () => uniform());
    expect(u.every((x) => x >= 0 && x < 1)).toBe(true);
    // Uniform [0, 1): mean 1/2, std 1/sqrt(12).
    const su = moments(u);
    expect(Math.abs(su.mean - 0.5)).toBeLessThan(meanBound(Math.sqrt(1 / 12), n));
    const data = new Float32Array(n);
    new GaussianNoise().add(data, 1);
    const { mean, std } = moments(data);
    expect(Math.abs(mean)).toBeLessThan(meanBound(1, n));
    expect(Math.abs(std - 1)).toBeLessThan(stdBound(1, n));
  });

  it('adds nothing at std 0', () => {
    const data = Float32Array.from([1, 2, 3]);
    new GaussianNoise(seededRandom(1)).add(data, 0);
    expect([...data]).toEqual([1, 2, 3]);
  });
});
