/*
 * IEEE 754 binary16 ("half") conversion for whole arrays. Node 20 has no Float16Array, and the
 * per-value DataView helpers of @petamoriken/float16 (the tests' reference) take about 0.75 us a
 * value here: 3 s for a 4M-value model. These loops read the float32 bits directly.
 */

/** Largest finite half: what a larger value saturates to when encoded. */
export const FLOAT16_MAX = 65504;

/**
 * The half-precision bits of every value, rounded to nearest, ties to even. Values beyond the half
 * range saturate to +-65504 (an update is not allowed to become infinite on the way); NaN stays NaN.
 */
export function toFloat16(values: Float32Array, out = new Uint16Array(values.length)): Uint16Array {
  // A Float32Array is always 4-byte aligned, so its bits can be viewed in place.
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]!);
  return out;
}

/** The half whose float32 bits are `b`. */
function halfBits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const exponent = (b >>> 23) & 0xff;
  const mantissa = b & 0x7fffff;
  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7bff : sign | 0x7e00;
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7bff;
  if (e <= 0) {
    // Subnormal half: value = m * 2^(e - 14) with the implicit bit restored; below 2^-25 it is 0.
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    const h = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (rest > halfway || (rest === halfway && (h & 1) === 1) ? h + 1 : h);
  }
  const h = sign | (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa moves to the next exponent, which is the right rounding; past the
  // largest half it would reach infinity, so saturate there.
  const rounded = rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1) ? h + 1 : h;
  return (rounded & 0x7fff) === 0x7c00 ? sign | 0x7bff : rounded;
}

let table: Float32Array | undefined;

/** The value of every half, by its bits (256 KiB, made on first use): decoding is one lookup. */
export function float16Values(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    table[h] =
      e === 0
        ? sign * m * 2 ** -24
        : e === 0x1f
          ? m
            ? NaN
            : sign * Infinity
          : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return table;
}

/** True for the bits of an infinite or NaN half: what a learner's update may not hold. */
export function isNonFiniteHalf(h: number): boolean {
  return (h & 0x7c00) === 0x7c00;
}
