import type { Weights } from '../weights.js';

/**
 * Up to this many values a column is sorted by insertion as it is read (1.5x faster than `sort()` at 10, even
 * at 100).
 */
const INSERTION_SORT_MAX = 64;

/**
 * Each coordinate's mean over `models` after dropping its `cut` lowest and `cut` highest values
 * (0 <= cut < n / 2): the trimmed mean, and the median with cut = floor((n - 1) / 2). The values
 * of one coordinate go through one scratch column reused for every coordinate.
 */
export function trimmedCoordinateMean(models: readonly Weights[], cut: number): Weights {
  const n = models.length;
  const column = new Float32Array(n);
  const kept = n - 2 * cut;
  const out: Weights = {};
  for (const [name, { shape, data: first }] of Object.entries(models[0]!)) {
    const sources = models.map((model) => model[name]!.data);
    const data = new Float32Array(first.length);
    for (let j = 0; j < data.length; j++) {
      sortedColumn(sources, j, column);
      let sum = 0;
      for (let i = cut; i < n - cut; i++) sum += column[i]!;
      data[j] = sum / kept;
    }
    out[name] = { shape: [...shape], data };
  }
  return out;
}

function sortedColumn(sources: readonly Float32Array[], j: number, column: Float32Array): void {
  const n = sources.length;
  if (n > INSERTION_SORT_MAX) {
    for (let i = 0; i < n; i++) column[i] = sources[i]![j]!;
    column.sort();
    return;
  }
  for (let i = 0; i < n; i++) {
    const x = sources[i]![j]!;
    let k = i - 1;
    while (k >= 0 && column[k]! > x) {
      column[k + 1] = column[k]!;
      k--;
    }
    column[k + 1] = x;
  }
}
