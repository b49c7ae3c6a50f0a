import { OiafedError } from '../../wire/errors.js';
import { CODEC_NAMES, type CodecName, type CodecSettings } from './tensor-codec.js';
import { topKFractionAt, type TopKWarmup } from './top-k-warmup.js';

/** Codecs the global model can be sent down in (top-k of a model would drop most of it). */
export const DOWN_CODECS = ['fp16', 'int8'] as const;
export type DownCodec = (typeof DOWN_CODECS)[number];

/**
 * Compressed updates: the codec of the global model sent down, and of the updates learners send
 * up (as deltas from the model they were sent). Each learner is asked which codecs it supports
 * before its first training request; one that supports neither gets float32.
 */
export interface CodecOptions {
  /** Codec of the model sent down: fp16 or int8. Default: float32. */
  down?: DownCodec;
  /** Codec of the updates sent up: fp16, int8 or topk (with error feedback). Default: float32. */
  up?: CodecName;
  /** Values per int8 block, each block with one float32 scale. Default 256 (1.6% overhead). */
  blockSize?: number;
  /** Share of each tensor's values top-k sends, in (0, 1]. Default 0.01. */
  fraction?: number;
  /**
   * Top-k: rounds over which the fraction falls exponentially from `warmupFraction` to `fraction`
   * (Deep Gradient Compression's sparsity warm-up); 0 turns it off. Default DEFAULT_TOPK_WARMUP_ROUNDS.
   */
  warmupRounds?: number;
  /** Top-k: the fraction of round 1 when warming up, in (0, 1]. Default DEFAULT_TOPK_WARMUP_FRACTION. */
  warmupFraction?: number;
}

export interface ResolvedCodecs {
  down?: DownCodec;
  up?: CodecName;
  /** The settings of every round after top-k's warm-up (`fraction` the steady one). */
  settings: CodecSettings;
  warmup: TopKWarmup;
}

/** The settings both ends apply in `round`: top-k's fraction on its warm-up schedule. */
export function roundSettings(codecs: ResolvedCodecs, round: number): CodecSettings {
  const { settings, warmup } = codecs;
  return { ...settings, fraction: topKFractionAt(round, settings.fraction, warmup) };
}

export const DEFAULT_BLOCK_SIZE = 256;
export const DEFAULT_TOPK_FRACTION = 0.01;
export const DEFAULT_TOPK_WARMUP_ROUNDS = 3;
export const DEFAULT_TOPK_WARMUP_FRACTION = 0.1;
/** Largest int8 block: past it one outlier flattens too many values. */
export const MAX_BLOCK_SIZE = 65536;
/** A warm-up is a few rounds (DGC's is 4 epochs); past this, a typo, not a schedule. */
const MAX_WARMUP_ROUNDS = 10000;

/** The options with defaults, or INVALID_CONFIG naming the field (under `where`). */
export function resolveCodecs(options: CodecOptions, where = 'federation.codecs'): ResolvedCodecs {
  const {
    down,
    up,
    blockSize = DEFAULT_BLOCK_SIZE,
    fraction = DEFAULT_TOPK_FRACTION,
    warmupRounds = DEFAULT_TOPK_WARMUP_ROUNDS,
    warmupFraction = DEFAULT_TOPK_WARMUP_FRACTION,
  } = options;
  if (down !== undefined && !(DOWN_CODECS as readonly unknown[]).includes(down))
    throw invalid(`${where}.down`, `one of ${DOWN_CODECS.join(', ')}`, down);
  if (up !== undefined && !(CODEC_NAMES as readonly unknown[]).includes(up))
    throw invalid(`${where}.up`, `one of ${CODEC_NAMES.join(', ')}`, up);
  if (!Number.isInteger(blockSize) || blockSize < 1 || blockSize > MAX_BLOCK_SIZE)
    throw invalid(`${where}.blockSize`, `an integer from 1 to ${MAX_BLOCK_SIZE}`, blockSize);
  if (typeof fraction !== 'number' || !(fraction > 0 && fraction <= 1))
    throw invalid(`${where}.fraction`, 'a number in (0, 1]', fraction);
  if (!Number.isInteger(warmupRounds) || warmupRounds < 0 || warmupRounds > MAX_WARMUP_ROUNDS)
    throw invalid(`${where}.warmupRounds`, `an integer from 0 to ${MAX_WARMUP_ROUNDS}`, warmupRounds);
  if (typeof warmupFraction !== 'number' || !(warmupFraction > 0 && warmupFraction <= 1))
    throw invalid(`${where}.warmupFraction`, 'a number in (0, 1]', warmupFraction);
  return {
    ...(down === undefined ? {} : { down }),
    ...(up === undefined ? {} : { up }),
    settings: { blockSize, fraction },
    warmup: { rounds: warmupRounds, from: warmupFraction },
  };
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError('INVALID_CONFIG', `${field} must be ${expected} (got ${JSON.stringify(got)})`);
}
