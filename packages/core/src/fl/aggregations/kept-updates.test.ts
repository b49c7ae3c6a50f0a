import { describe, expect, it } from 'vitest';
import type { Aggregation } from '../aggregation.js';
import { CenteredClippingAggregation } from './centered-clipping.js';
import { MedianAggregation } from './coordinate-median.js';
import { KeptUpdates } from './kept-updates.js';
import { KrumAggregation } from './krum.js';
import { TrimmedMeanAggregation } from './trimmed-mean.js';
import { clientUpdate, model } from './client-update.test-support.js';

describe('KeptUpdates', () => {
  it('keeps the updates by reference and hands them over once, in client-id order', () => {
    const kept = new KeptUpdates();
    const [b, a, c] = ['b', 'a', 'c'].map((id) => clientUpdate(id, { w: [1] }));
    for (const u of [b!, a!, c!]) kept.add(u);
    const taken = kept.take();
    expect(taken.map((u) => u.client)).toEqual(['a', 'b', 'c']);
    expect(taken[0]).toBe(a);
    expect(() => kept.take()).toThrow(/already aggregated/);
    expect(() => kept.add(a!)).toThrow(/already aggregated/);
  });
});

const robust: [string, () => Aggregation][] = [
  ['MedianAggregation', () => new MedianAggregation()],
  ['TrimmedMeanAggregation', () => new TrimmedMeanAggregation({ beta: 0.1 })],
  ['KrumAggregation', () => new KrumAggregation({ byzantine: 0 })],
  [
    'CenteredClippingAggregation',
    () => new CenteredClippingAggregation(model({ w: [0, 0], b: [0] }), { tau: 1 }),
  ],
];

describe.each(robust)('%s', (_, make) => {
  it('says it keeps the updates', () => {
    expect(make().keepsUpdates).toBe(true);
  });

  it('fails the round with ROUND_FAILED when no update came', () => {
    expect(() => make().result()).toThrow(
      expect.objectContaining({ code: 'ROUND_FAILED', message: 'no update to aggregate' }),
    );
  });

  it('refuses with INVALID_RESULT an update whose layout differs from the others, and aggregates the rest', () => {
    const aggregation = make();
    for (const id of ['l1', 'l2', 'l3']) aggregation.add(clientUpdate(id, { w: [1, 2], b: [3] }));
    expect(() => aggregation.add(clientUpdate('short', { w: [1], b: [3] }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_RESULT',
        message: expect.stringMatching(
          /^update of short does not fit the round’s layout: tensor w has 1 values, expected 2/,
        ),
      }),
    );
    expect(() => aggregation.add(clientUpdate('extra', { w: [1, 2], b: [3], c: [4] }))).toThrow(
      expect.objectContaining({
        code: 'INVALID_RESULT',
        message: expect.stringMatching(/unexpected tensors: c/),
      }),
    );
    expect(Object.keys(aggregation.result().weights).sort()).toEqual(['b', 'w']);
  });
});
