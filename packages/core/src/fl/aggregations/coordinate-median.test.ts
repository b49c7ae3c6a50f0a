import { describe, expect, it } from 'vitest';
import { MedianAggregation } from './coordinate-median.js';
import { clientUpdate, values } from './client-update.test-support.js';

// Five clients, two tensors (four coordinates). Each column's median is worked out in the comments.
const c1 = clientUpdate('c1', { kernel: [1, 10, -3], bias: [0.5] }, 1);
const c2 = clientUpdate('c2', { kernel: [2, 20, 2], bias: [100] }, 1000);
const c3 = clientUpdate('c3', { kernel: [3, -50, -2], bias: [0.25] }, 1);
const c4 = clientUpdate('c4', { kernel: [4, 36, 7], bias: [-100] }, 1);
const c5 = clientUpdate('c5', { kernel: [100, 60, -4], bias: [2.25] }, 1);

function median(...updates: ReturnType<typeof clientUpdate>[]) {
  const aggregation = new MedianAggregation();
  for (const u of updates) aggregation.add(u);
  return aggregation.result();
}

describe('MedianAggregation', () => {
  it('takes each coordinate\u2019s median over an odd count, unweighted, and rejects no one', () => {
    const result = median(c1, c2, c3, c4, c5);
    // kernel[0]: 1 2 3 4 100 -> 3; kernel[1]: -50 10 20 36 60 -> 20; kernel[2]: -4 -3 -2 2 7 -> -2;
    // bias: -100 0.25 0.5 2.25 100 -> 0.5 (c2's 1000 examples buy its 100 nothing).
    expect(values(result.weights)).toEqual({ kernel: [3, 20, -2], bias: [0.5] });
    expect(result.weights.kernel!.shape).toEqual([3]);
    expect(result.rejected).toEqual([]);
  });

  it('takes the mean of the two middle values over an even count, as np.median does', () => {
    // kernel[0]: 1 2 | 3 4 -> 2.5; kernel[1]: -50 10 | 20 36 -> 15; kernel[2]: -3 -2 | 2 7 -> 0; bias: -100 0.25 |
    // 0.5 100 -> 0.375.
    expect(values(median(c4, c2, c1, c3).weights)).toEqual({ kernel: [2.5, 15, 0], bias: [0.375] });
  });

  it('returns fresh arrays and leaves the updates untouched, even for a single update', () => {
    const before = values(c3.weights);
    median(c1, c2, c3);
    expect(values(c3.weights)).toEqual(before);
    const single = median(c3).weights;
    expect(values(single)).toEqual(before);
    expect(single.kernel!.data).not.toBe(c3.weights.kernel!.data);
  });

  it('sorts a column of more than 64 values the same way as a short one', () => {
    // 101 clients: values 0..100 arriving in a scrambled order; the median is 50 whatever the order.
    const aggregation = new MedianAggregation();
    for (let i = 0; i < 101; i++)
      aggregation.add(clientUpdate(`c${i}`, { w: [(i * 37) % 101, -((i * 37) % 101)] }));
    expect(values(aggregation.result().weights)).toEqual({ w: [50, -50] });
  });
});
