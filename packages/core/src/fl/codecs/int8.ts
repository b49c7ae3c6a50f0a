/*
 * Blockwise absmax int8 quantisation (as in bitsandbytes' blockwise 8-bit and QSGD's buckets):
 * each block of `blockSize` values gets one float32 scale, max|x| / 127, and every value becomes
 * round(x / scale) in -127..127. Decoding gives q * scale, within scale / 2 of the value.
 */

/** Largest scale a block may carry: 127 * scale must still be a finite float32. */
export const MAX_INT8_SCALE = 3.4028234663852886e38 / 127;

export interface Int8Blocks {
  /** One scale per block (max |x| / 127 of the block; 0 for a block of zeros). */
  scales: Float32Array;
  values: Int8Array;
}

export function blockCount(length: number, blockSize: number): number {
  return Math.ceil(length / blockSize);
}

/** The blocks of `data`. Its values must be finite (a learner's update is checked before). */
export function toInt8Blocks(data: Float32Array, blockSize: number): Int8Blocks {
  const n = data.length;
  const scales = new Float32Array(blockCount(n, blockSize));
  const values = new Int8Array(n);
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = Math.min(n, start + blockSize);
    let max = 0;
    for (let i = start; i < end; i++) {
      const a = Math.abs(data[i]!);
      if (a > max) max = a;
    }
    // The scale is stored as float32: quantise with that rounded value, so decoding matches.
    const scale = Math.fround(max / 127);
    scales[b] = scale;
    if (scale === 0) continue;
    const inverse = 1 / scale;
    for (let i = start; i < end; i++) {
      const q = Math.round(data[i]! * inverse);
      values[i] = q > 127 ? 127 : q < -127 ? -127 : q;
    }
  }
  return { scales, values };
}

/** `acc[i] += weight * q[i] * scale` over every block: decoding straight into a running sum. */
export function addInt8Blocks(
  acc: Float32Array,
  blocks: Int8Blocks,
  blockSize: number,
  weight: number,
): void {
  const { scales, values } = blocks;
  const n = values.length;
  for (let b = 0, start = 0; start < n; b++, start += blockSize) {
    const end = Math.min(n, start + blockSize);
    const s = weight * scales[b]!;
    for (let i = start; i < end; i++) acc[i]! += s * values[i]!;
  }
}

/** Why `blocks` cannot be the int8 form of `length` values, or undefined. */
export function int8Problem(
  blocks: { scales?: unknown; values?: unknown },
  length: number,
  blockSize: number,
): string | undefined {
  const { scales, values } = blocks;
  if (!(values instanceof Int8Array) || values.length !== length)
    return `int8 values must be an Int8Array of ${length} values`;
  const count = blockCount(length, blockSize);
  if (!(scales instanceof Float32Array) || scales.length !== count)
    return `int8 scales must be a Float32Array of ${count} blocks of ${blockSize}`;
  for (let b = 0; b < count; b++) {
    const s = scales[b]!;
    // NaN fails both comparisons.
    if (!(s >= 0 && s <= MAX_INT8_SCALE)) return `int8 scale ${b} is ${s}, not a finite number >= 0`;
  }
  for (let i = 0; i < length; i++)
    if (values[i] === -128) return `int8 value ${i} is -128, outside -127..127`;
  return undefined;
}
