import { median } from './harness.js';

/** Median, quartiles and extremes of `values`. */
export interface Spread {
  median: number;
  q1: number;
  q3: number;
  min: number;
  max: number;
}

export function spreadOf(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => {
    const i = (sorted.length - 1) * q;
    const lo = Math.floor(i);
    return sorted[lo]! + (sorted[Math.ceil(i)]! - sorted[lo]!) * (i - lo);
  };
  return { median: median(sorted), q1: at(0.25), q3: at(0.75), min: sorted[0]!, max: sorted.at(-1)! };
}

/**
 * Sample i of `baseline` over sample i of `contender`: for times, the contender's throughput
 * relative to the baseline's, pair by pair (interleaved samples ran side by side, so each pair met
 * the same load), which the machine's drift cancels out of.
 */
export function pairedRatios(baseline: readonly number[], contender: readonly number[]): number[] {
  return baseline.map((b, i) => b / contender[i]!);
}
