/**
 * Fixed-point encoding of an update for secure aggregation: each value clipped to
 * [-clip, clip], mapped to an integer level in [0, levels - 1] by rounding to the nearest, then
 * multiplied by the learner's example count, so the sum of the encodings over learners is the
 * example-weighted sum FedAvg needs. The trainer picks `levels` so that sum cannot wrap modulo
 * 2^bits: n learners of at most `maxExamples` examples each (see `quantizationLevels`).
 * Deterministic rounding (Flower rounds stochastically) keeps the error bound simple: at most half
 * a step, clip / (levels - 1), per value of the mean.
 */

/** The most levels a value may take so that `learners` weighted encodings sum below 2^bits. */
export function quantizationLevels(bits: number, learners: number, maxExamples: number): number {
  return Math.floor((2 ** bits - 1) / (learners * maxExamples)) + 1;
}

/** Writes `weight` x level of each of `values` into `out` from `offset`. */
export function quantizeInto(
  values: Float32Array,
  clip: number,
  levels: number,
  weight: number,
  out: Uint32Array,
  offset: number,
): void {
  const scale = (levels - 1) / (2 * clip);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const clipped = v > clip ? clip : v < -clip ? -clip : v;
    out[offset + i] = Math.round((clipped + clip) * scale) * weight;
  }
}

/** The mean value each summed level stands for: `sum / totalWeight` levels mapped back to [-clip, clip]. */
export function dequantizeInto(
  sums: Uint32Array,
  offset: number,
  totalWeight: number,
  clip: number,
  levels: number,
  out: Float32Array,
): void {
  const step = (2 * clip) / (levels - 1);
  for (let i = 0; i < out.length; i++) out[i] = (sums[offset + i]! / totalWeight) * step - clip;
}

/** Half a quantisation step: the most a dequantised mean differs from the mean of the clipped values. */
export function quantizationError(clip: number, levels: number): number {
  return clip / (levels - 1);
}
