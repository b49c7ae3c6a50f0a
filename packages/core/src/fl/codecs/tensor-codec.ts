import { FLOAT16_MAX, float16Values, isNonFiniteHalf, toFloat16 } from './float16.js';
import { addInt8Blocks, int8Problem, toInt8Blocks } from './int8.js';
import { addSparse, sparseProblem, topK, topKCount } from './top-k.js';

/** The codecs a tensor can travel in besides float32. */
export const CODEC_NAMES = ['fp16', 'int8', 'topk'] as const;
export type CodecName = (typeof CODEC_NAMES)[number];

/** The settings both ends apply: the trainer sends them with every request that uses a codec. */
export interface CodecSettings {
  /** Values per int8 block (one float32 scale each). */
  blockSize: number;
  /** Share of each tensor's values top-k keeps, in (0, 1]. */
  fraction: number;
}

/** One tensor as it travels, by codec. */
export type EncodedTensor =
  | { kind: 'fp16'; bits: Uint16Array }
  | { kind: 'int8'; scales: Float32Array; values: Int8Array }
  | { kind: 'topk'; indices: Uint32Array; values: Float32Array };

/** `data` in `codec`. Its values must be finite. */
export function encodeTensor(data: Float32Array, codec: CodecName, settings: CodecSettings): EncodedTensor {
  switch (codec) {
    case 'fp16':
      return { kind: 'fp16', bits: toFloat16(data) };
    case 'int8':
      return { kind: 'int8', ...toInt8Blocks(data, settings.blockSize) };
    case 'topk':
      return { kind: 'topk', ...topK(data, topKCount(data.length, settings.fraction)) };
  }
}

/** `acc += weight * decoded`, without making the decoded tensor. `encoded` must have been checked. */
export function addDecoded(
  acc: Float32Array,
  encoded: EncodedTensor,
  weight: number,
  settings: CodecSettings,
): void {
  switch (encoded.kind) {
    case 'fp16': {
      const table = float16Values();
      const bits = encoded.bits;
      for (let i = 0; i < bits.length; i++) acc[i]! += weight * table[bits[i]!]!;
      return;
    }
    case 'int8':
      return addInt8Blocks(acc, encoded, settings.blockSize, weight);
    case 'topk':
      return addSparse(acc, encoded, weight);
  }
}

/** The tensor `encoded` stands for, as float32 (for the learner's side, and aggregations that keep updates). */
export function decodeTensor(encoded: EncodedTensor, length: number, settings: CodecSettings): Float32Array {
  const out = new Float32Array(length);
  addDecoded(out, encoded, 1, settings);
  return out;
}

/**
 * Why `value` (from a peer) cannot be `length` values in `codec` with these settings, or undefined:
 * every length, index, scale and value checked before anything is decoded from it.
 */
export function encodedProblem(
  value: unknown,
  length: number,
  codec: CodecName,
  settings: CodecSettings,
): string | undefined {
  if (typeof value !== 'object' || value === null) return 'is not an encoded tensor';
  const v = value as Record<string, unknown>;
  if (v.kind !== codec) return `is not in ${codec}`;
  switch (codec) {
    case 'fp16': {
      const bits = v.bits;
      if (!(bits instanceof Uint16Array) || bits.length !== length)
        return `fp16 bits must be a Uint16Array of ${length} values`;
      for (let i = 0; i < length; i++) if (isNonFiniteHalf(bits[i]!)) return `fp16 value ${i} is not finite`;
      return undefined;
    }
    case 'int8':
      return int8Problem(v, length, settings.blockSize);
    case 'topk':
      return sparseProblem(v, length, topKCount(length, settings.fraction));
  }
}

/**
 * A bound on |x| over the values `encoded` (checked) decodes to, without decoding it: O(1) for fp16,
 * O(blocks) for int8, O(k) for top-k. What the running sum checks before it adds an update.
 */
export function encodedMaxAbs(encoded: EncodedTensor): number {
  switch (encoded.kind) {
    case 'fp16':
      return FLOAT16_MAX;
    case 'int8': {
      let max = 0;
      for (const s of encoded.scales) if (s > max) max = s;
      return 127 * max;
    }
    case 'topk': {
      let max = 0;
      for (const v of encoded.values) if (Math.abs(v) > max) max = Math.abs(v);
      return max;
    }
  }
}

/** Bytes of the tensor's payload (its typed arrays), for the figures. */
export function encodedBytes(encoded: EncodedTensor): number {
  switch (encoded.kind) {
    case 'fp16':
      return encoded.bits.byteLength;
    case 'int8':
      return encoded.scales.byteLength + encoded.values.byteLength;
    case 'topk':
      return encoded.indices.byteLength + encoded.values.byteLength;
  }
}
