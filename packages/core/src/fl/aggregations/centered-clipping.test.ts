import { describe, expect, it } from 'vitest';
import type { ClientUpdate } from '../aggregation.js';
import { CenteredClippingAggregation } from './centered-clipping.js';
import { clientUpdate, model, values } from './client-update.test-support.js';

// A 2-D model centred on the previous global (1, 1). Each update's offset from it, and that offset's length:
const reference = model({ w: [1, 1] });
const updates = [
  clientUpdate('u1', { w: [4, 5] }), //   (3, 4)    5
  clientUpdate('u2', { w: [1, 2] }), //   (0, 1)    1
  clientUpdate('u3', { w: [-5, 9] }), //  (-6, 8)   10
  clientUpdate('u4', { w: [1, -1] }), //  (0, -2)   2
];

function clip(tau: number, iterations?: number, arriving: readonly ClientUpdate[] = updates) {
  const aggregation = new CenteredClippingAggregation(
    reference,
    iterations === undefined ? { tau } : { tau, iterations },
  );
  for (const u of arriving) aggregation.add(u);
  return aggregation.result();
}

describe('CenteredClippingAggregation', () => {
  it('shrinks each offset from the reference to length tau and moves the reference by their mean', () => {
    // tau 2.5 scales the offsets by 0.5, 1, 0.25, 1: (1.5, 2) + (0, 1) + (-1.5, 2) + (0, -2) = (0, 3); / 4 = (0, 0.75).
    const result = clip(2.5);
    expect(values(result.weights)).toEqual({ w: [1, 1.75] });
    expect(result.rejected).toEqual([]);
    expect(values(reference)).toEqual({ w: [1, 1] });
  });

  it('re-centres on its last result for each further iteration', () => {
    // From (1, 1.75) the offsets are (3, 3.25), (0, 0.25), (-6, 7.25), (0, -2.75).
    const s1 = 2.5 / Math.hypot(3, 3.25);
    const s3 = 2.5 / Math.hypot(6, 7.25);
    const s4 = 2.5 / 2.75;
    const expected = [1 + (3 * s1 - 6 * s3) / 4, 1.75 + (3.25 * s1 + 0.25 + 7.25 * s3 - 2.75 * s4) / 4];
    const [a, b] = values(clip(2.5, 2).weights).w!;
    expect(a).toBeCloseTo(expected[0]!, 6);
    expect(b).toBeCloseTo(expected[1]!, 6);
  });

  it('is the plain unweighted mean when no offset is longer than tau', () => {
    // (4 + 1 - 5 + 1) / 4 = 0.25; (5 + 2 + 9 - 1) / 4 = 3.75.
    expect(values(clip(10).weights)).toEqual({ w: [0.25, 3.75] });
  });

  it('lets one far update move the model by at most tau / n, and an update at the reference counts as zero', () => {
    const attacked = [clientUpdate('honest', { w: [1, 1] }), clientUpdate('attacker', { w: [1e6, 1] })];
    // The attacker's offset (999999, 0) is cut to (0.5, 0); the honest offset is 0: mean (0.25, 0).
    expect(values(clip(0.5, 1, attacked).weights)).toEqual({ w: [1.25, 1] });
  });

  it('gives the same bits whatever order the updates arrive in', () => {
    expect(values(clip(2.5, 3, [...updates].reverse()).weights)).toEqual(values(clip(2.5, 3).weights));
  });

  it('refuses an update whose layout differs from the reference, and bad options', () => {
    const aggregation = new CenteredClippingAggregation(reference, { tau: 1 });
    expect(() => aggregation.add(clientUpdate('u9', { w: [1, 2, 3] }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_RESULT',
        message: 'update of u9 does not fit the round’s layout: tensor w has 3 values, expected 2',
      }),
    );
    expect(() => new CenteredClippingAggregation(reference, { tau: 0 })).toThrow(
      /centered clipping: tau must be a positive number \(got 0\)/,
    );
    expect(() => new CenteredClippingAggregation(reference, { tau: 1, iterations: 0 })).toThrow(
      /iterations must be a positive integer \(got 0\)/,
    );
  });
});
