import { describe, expect, it } from 'vitest';
import type { ClientUpdate } from '../aggregation.js';
import { KrumAggregation } from './krum.js';
import { asStored, clientUpdate, values } from './client-update.test-support.js';

// Seven honest updates near 0 and two planted outliers at 100, as (a, b) over two one-value tensors
// (the distance runs over both). With f = 2 each update is scored by its n - f - 2 = 5 nearest others:
// h6 (-1, 1): squared distances 2 (h2), 2 (h4), 2 (h7), 10 (h3), 13 (h1) -> 29. The same for the rest:
const honest: [string, number, number, number][] = [
  // client, a, b, numExamples      score
  ['h1', 2, -1, 20], //              61
  ['h2', -2, 0, 10], //              35
  ['h3', -2, -2, 10], //             63
  ['h4', -2, 2, 20], //              51
  ['h5', 2, -2, 10], //              75
  ['h6', -1, 1, 10], //              29
  ['h7', 0, 2, 20], //               47
];
const outliers: [string, number, number, number][] = [
  ['x1', 100, 100, 10], //           79423
  ['x2', 100, 102, 10], //           81023
];
const updates = [...honest, ...outliers].map(([client, a, b, n]) =>
  clientUpdate(client, { a: [a], b: [b] }, n),
);

function krum(options: { byzantine: number; keep?: number }, arriving: readonly ClientUpdate[] = updates) {
  const aggregation = new KrumAggregation(options);
  for (const u of arriving) aggregation.add(u);
  return aggregation.result();
}

describe('KrumAggregation', () => {
  it('keeps the n - f lowest scores and rejects the planted outliers, naming them and their scores', () => {
    const result = krum({ byzantine: 2, keep: 7 }, [
      updates[7]!,
      ...updates.slice(0, 4),
      updates[8]!,
      ...updates.slice(4, 7),
    ]);
    expect(result.rejected).toEqual([
      {
        client: 'x1',
        reason:
          'Krum score 79423 (squared distances to its 5 nearest updates) is not among the 7 lowest (highest kept: 75)',
      },
      {
        client: 'x2',
        reason:
          'Krum score 81023 (squared distances to its 5 nearest updates) is not among the 7 lowest (highest kept: 75)',
      },
    ]);
    // The numExamples-weighted mean of the seven honest updates (total 100 examples):
    // a = (40 - 20 - 20 - 40 + 20 - 10 + 0) / 100 = -0.3; b = (-20 + 0 - 20 + 40 - 20 + 10 + 40) / 100 = 0.3.
    expect(values(result.weights)).toEqual(asStored({ a: [-0.3], b: [0.3] }));
  });

  it('averages the three best of multi-Krum weighted by numExamples, as Flower\u2019s aggregate', () => {
    const result = krum({ byzantine: 2, keep: 3 });
    // h6 (29), h2 (35), h7 (47): a = (-10 - 20 + 0) / 40 = -0.75; b = (10 + 0 + 40) / 40 = 1.25.
    expect(values(result.weights)).toEqual({ a: [-0.75], b: [1.25] });
    expect(result.rejected.map((r) => r.client)).toEqual(['h1', 'h3', 'h4', 'h5', 'x1', 'x2']);
    expect(result.rejected[0]!.reason).toBe(
      'Krum score 61 (squared distances to its 5 nearest updates) is not among the 3 lowest (highest kept: 47)',
    );
  });

  it('returns the single best update bit for bit with keep 1 (Krum), and rejects all the others', () => {
    const result = krum({ byzantine: 2 });
    expect(values(result.weights)).toEqual({ a: [-1], b: [1] });
    expect(result.weights.a!.data).not.toBe(updates[5]!.weights.a!.data);
    expect(result.rejected.map((r) => r.client)).toEqual(['h1', 'h2', 'h3', 'h4', 'h5', 'h7', 'x1', 'x2']);
    // An awkward float32 comes back unchanged although the mean multiplies and divides by numExamples.
    const odd = [0.1, 0.1, 0.1, 0.1].map((v, i) => clientUpdate(`o${i}`, { w: [v, 1 / 3] }, 999_999_937));
    expect(values(krum({ byzantine: 0 }, odd).weights)).toEqual(asStored({ w: [0.1, 1 / 3] }));
  });

  it('gives the same bits and the same ties whatever order the updates arrive in', () => {
    // Four equal scores: ties go by client id, never by arrival.
    const square = [
      clientUpdate('d', { w: [1, 0] }),
      clientUpdate('b', { w: [0, 1] }),
      clientUpdate('c', { w: [1, 1] }),
      clientUpdate('a', { w: [0, 0] }),
    ];
    const forward = krum({ byzantine: 0, keep: 2 }, square);
    const backward = krum({ byzantine: 0, keep: 2 }, [...square].reverse());
    expect(forward).toEqual(backward);
    expect(forward.rejected.map((r) => r.client)).toEqual(['c', 'd']);
    expect(values(krum({ byzantine: 2, keep: 5 }, [...updates].reverse()).weights)).toEqual(
      values(krum({ byzantine: 2, keep: 5 }).weights),
    );
  });

  it('fails the round cleanly when n <= 2f + 2, naming n and f', () => {
    const six = updates.slice(0, 6);
    expect(() => krum({ byzantine: 2 }, six)).toThrow(
      expect.objectContaining({
        code: 'ROUND_FAILED',
        message: 'Krum needs more than 2f + 2 = 6 updates with f = 2 Byzantine; the round has n = 6',
      }),
    );
    expect(krum({ byzantine: 2 }, updates.slice(0, 7)).rejected).toHaveLength(6);
    expect(() => krum({ byzantine: 0, keep: 4 }, updates.slice(0, 3))).toThrow(
      expect.objectContaining({ code: 'ROUND_FAILED', message: 'Krum keeps 4 updates; the round has n = 3' }),
    );
  });

  it('refuses options that are not counts', () => {
    expect(() => new KrumAggregation({ byzantine: -1 })).toThrow(
      /Krum: byzantine must be an integer >= 0 \(got -1\)/,
    );
    expect(() => new KrumAggregation({ byzantine: 1.5 })).toThrow(/byzantine must be an integer/);
    expect(() => new KrumAggregation({ byzantine: 1, keep: 0 })).toThrow(
      /Krum: keep must be a positive integer \(got 0\)/,
    );
  });
});
