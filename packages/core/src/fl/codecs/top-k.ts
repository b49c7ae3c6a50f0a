/*
 * Top-k sparsification (Aji & Heafield 2017; Lin et al. 2018, "Deep Gradient Compression"): only
 * the k values of largest magnitude travel, as (index, value) pairs with the indices ascending.
 * What is left behind is not lost: the learner keeps it as a residual and adds it to its next
 * update (error feedback, Stich et al. 2018; see error-feedback.ts).
 */

export interface SparseValues {
  /** Strictly ascending positions in the tensor. */
  indices: Uint32Array;
  values: Float32Array;
}

/** How many values of a tensor of `length` travel at `fraction`: at least 1 of a non-empty tensor. */
export function topKCount(length: number, fraction: number): number {
  return length === 0 ? 0 : Math.min(length, Math.max(1, Math.ceil(fraction * length)));
}

/** The k values of `data` of largest magnitude, in index order (ties broken by lowest index). */
export function topK(data: Float32Array, k: number): SparseValues {
  const n = data.length;
  const indices = new Uint32Array(k);
  const values = new Float32Array(k);
  if (k === 0) return { indices, values };
  const threshold = k === n ? 0 : kthLargestMagnitude(data, k);
  // Strictly above the threshold first (fewer than k of them), then ties at it, in index order.
  let above = 0;
  for (let i = 0; i < n; i++) if (Math.abs(data[i]!) > threshold) above++;
  let ties = k - above;
  let j = 0;
  for (let i = 0; i < n && j < k; i++) {
    const a = Math.abs(data[i]!);
    if (a > threshold || (a === threshold && ties-- > 0)) {
      indices[j] = i;
      values[j++] = data[i]!;
    }
  }
  return { indices, values };
}

/** The k-th largest |x| (1-based), by quickselect on a copy of the magnitudes: O(n) on average. */
function kthLargestMagnitude(data: Float32Array, k: number): number {
  const a = new Float32Array(data.length);
  for (let i = 0; i < a.length; i++) a[i] = Math.abs(data[i]!);
  // The k-th largest is the (n - k)-th smallest, 0-based.
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    // Median of three as the pivot keeps sorted and reversed input linear.
    const mid = (lo + hi) >>> 1;
    const pivot = median3(a[lo]!, a[mid]!, a[hi]!);
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else return a[target]!;
  }
  return a[target]!;
}

function median3(x: number, y: number, z: number): number {
  return x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
}

/** `acc[indices[j]] += weight * values[j]`: O(k), the rest of the sum untouched. */
export function addSparse(acc: Float32Array, sparse: SparseValues, weight: number): void {
  const { indices, values } = sparse;
  for (let j = 0; j < indices.length; j++) acc[indices[j]!]! += weight * values[j]!;
}

/** Why `sparse` cannot be a top-k of `length` values with at most `k` kept, or undefined. */
export function sparseProblem(
  sparse: { indices?: unknown; values?: unknown },
  length: number,
  k: number,
): string | undefined {
  const { indices, values } = sparse;
  if (!(indices instanceof Uint32Array) || indices.length > k)
    return `top-k indices must be a Uint32Array of at most ${k} positions`;
  if (!(values instanceof Float32Array) || values.length !== indices.length)
    return `top-k values must be a Float32Array as long as the indices (${indices.length})`;
  let previous = -1;
  for (let j = 0; j < indices.length; j++) {
    const i = indices[j]!;
    if (i >= length) return `top-k index ${i} is outside the tensor's ${length} values`;
    if (i <= previous) return `top-k indices must be strictly ascending (index ${i} after ${previous})`;
    previous = i;
    const v = values[j]!;
    if (v - v !== 0) return `top-k value at index ${i} is ${v}, not finite`;
  }
  return undefined;
}
