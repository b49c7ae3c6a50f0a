import { describe, expect, it } from 'vitest';
import { TrimmedMeanAggregation } from './trimmed-mean.js';
import { asStored, clientUpdate, values } from './client-update.test-support.js';

const c1 = clientUpdate('c1', { kernel: [1, 10, -3], bias: [0.5] });
const c2 = clientUpdate('c2', { kernel: [2, 20, 2], bias: [100] }, 1000);
const c3 = clientUpdate('c3', { kernel: [3, -50, -2], bias: [0.25] });
const c4 = clientUpdate('c4', { kernel: [4, 36, 7], bias: [-100] });
const c5 = clientUpdate('c5', { kernel: [100, 60, -4], bias: [2.25] });

function trimmedMean(beta: number | undefined, updates: ReturnType<typeof clientUpdate>[]) {
  const aggregation = new TrimmedMeanAggregation(beta === undefined ? {} : { beta });
  for (const u of updates) aggregation.add(u);
  return aggregation.result();
}

describe('TrimmedMeanAggregation', () => {
  it('cuts floor(beta·n) values from each end of every coordinate and averages the rest, unweighted', () => {
    // beta 0.2 of 5 cuts 1 from each end, leaving the middle three:
    // kernel[0]: (2 + 3 + 4) / 3 = 3; kernel[1]: (10 + 20 + 36) / 3 = 22; kernel[2]: (-3 + -2 + 2) / 3 = -1;
    // bias: (0.25 + 0.5 + 2.25) / 3 = 1. (The plain mean of kernel[0] would be 22.)
    const result = trimmedMean(0.2, [c1, c2, c3, c4, c5]);
    expect(values(result.weights)).toEqual({ kernel: [3, 22, -1], bias: [1] });
    expect(result.rejected).toEqual([]);
  });

  it('defaults to beta 0.2, as Flower\u2019s FedTrimmedAvg', () => {
    expect(new TrimmedMeanAggregation().beta).toBe(0.2);
    expect(values(trimmedMean(undefined, [c5, c4, c3, c2, c1]).weights)).toEqual({
      kernel: [3, 22, -1],
      bias: [1],
    });
  });

  it('rounds the cut down as Python\u2019s int(): beta 0.2 of 4 cuts nothing, 0.4 of 5 leaves the median', () => {
    // 0.8 -> 0: the plain mean. kernel[0]: 10 / 4; kernel[1]: 16 / 4; kernel[2]: 4 / 4; bias: 0.75 / 4.
    expect(values(trimmedMean(0.2, [c1, c2, c3, c4]).weights)).toEqual({
      kernel: [2.5, 4, 1],
      bias: [0.1875],
    });
    // 2.0 -> 2: one value left per coordinate.
    expect(values(trimmedMean(0.4, [c1, c2, c3, c4, c5]).weights)).toEqual({
      kernel: [3, 20, -2],
      bias: [0.5],
    });
  });

  it('takes the count from the double product: 0.3 × 10 = 3.0000000000000004 cuts 3, 0.29 × 10 cuts 2', () => {
    const squares = Array.from({ length: 10 }, (_, i) => clientUpdate(`c${i + 1}`, { w: [(i + 1) ** 2] }));
    // Squares 1 4 9 ... 100. Cut 3: (16 + 25 + 36 + 49) / 4 = 31.5. Cut 2: (9 + 16 + 25 + 36 + 49 + 64) / 6 = 199 / 6.
    expect(values(trimmedMean(0.3, squares).weights)).toEqual({ w: [31.5] });
    expect(values(trimmedMean(0.29, squares).weights)).toEqual(asStored({ w: [199 / 6] }));
  });

  it('refuses a beta outside [0, 0.5), which would leave no value to average', () => {
    for (const beta of [0.5, -0.1, Number.NaN])
      expect(() => new TrimmedMeanAggregation({ beta })).toThrow(
        /trimmed mean: beta must be a number in \[0, 0\.5\)/,
      );
    expect(() => new TrimmedMeanAggregation({ beta: 0.5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    );
  });
});
