import { describe, expect, it } from 'vitest';
import { resolveCodecs, roundSettings } from './codec-options.js';
import { topKCount } from './top-k.js';
import { topKFractionAt } from './top-k-warmup.js';

const schedule = (fraction: number, from: number, rounds: number, upTo: number) =>
  Array.from({ length: upTo }, (_, i) => topKFractionAt(i + 1, fraction, { rounds, from }));

describe('top-k sparsity warm-up', () => {
  it("follows DGC's schedule: 25% to 0.1% over 4 rounds, a factor (0.001 / 0.25)^(1/4) a round", () => {
    // from * (fraction / from) ** ((round - 1) / rounds), written out: 0.25 * 0.004^(k/4), k = 0..3.
    const got = schedule(0.001, 0.25, 4, 6);
    const want = [0.25, 0.06287167148414677, 0.015811388300841896, 0.0039763536438352535, 0.001, 0.001];
    got.forEach((g, i) => expect(g).toBeCloseTo(want[i]!, 15));
    // Lin et al. 2018 list the sparsities 75%, 93.75%, 98.4375%, 99.6%, 99.9%: within 2% of each density.
    const dgc = [0.25, 0.0625, 0.015625, 0.004, 0.001];
    dgc.forEach((d, i) => expect(Math.abs(got[i]! - d) / d).toBeLessThan(0.02));
  });

  it('falls from 10% to 1% over 3 rounds by default, then stays at 1%', () => {
    const codecs = resolveCodecs({ up: 'topk' });
    const fractions = [1, 2, 3, 4, 5, 10, 1000].map((r) => roundSettings(codecs, r).fraction);
    expect(fractions[0]).toBe(0.1);
    expect(fractions[1]).toBeCloseTo(0.046415888336127795, 15); // 0.1 * 0.1^(1/3)
    expect(fractions[2]).toBeCloseTo(0.02154434690031884, 15); // 0.1 * 0.1^(2/3)
    expect(fractions.slice(3)).toEqual([0.01, 0.01, 0.01, 0.01]);
    // The first layer of the demo's 2NN, ceil(fraction x 156,800): 15,680 values in round 1, 1,568 from round 4.
    expect([1, 2, 3, 4].map((r) => topKCount(156_800, roundSettings(codecs, r).fraction))).toEqual([
      15_680, 7_279, 3_379, 1_568,
    ]);
  });

  it('is off with 0 warm-up rounds, or a start at or below the steady fraction', () => {
    expect(schedule(0.01, 0.1, 0, 3)).toEqual([0.01, 0.01, 0.01]);
    expect(schedule(0.01, 0.01, 3, 3)).toEqual([0.01, 0.01, 0.01]);
    expect(schedule(0.2, 0.1, 3, 3)).toEqual([0.2, 0.2, 0.2]);
  });

  it('refuses a warm-up that is not a whole number of rounds or a fraction in (0, 1], naming the field', () => {
    expect(() => resolveCodecs({ up: 'topk', warmupRounds: 1.5 })).toThrow(
      /federation\.codecs\.warmupRounds/,
    );
    expect(() => resolveCodecs({ up: 'topk', warmupRounds: -1 })).toThrow(/warmupRounds must be an integer/);
    expect(() => resolveCodecs({ up: 'topk', warmupFraction: 0 })).toThrow(
      /warmupFraction must be a number in \(0, 1\]/,
    );
    expect(() => resolveCodecs({ up: 'topk', warmupFraction: 1.5 })).toThrow(/warmupFraction/);
  });
});
