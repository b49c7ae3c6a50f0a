import { OiafedError } from '../../wire/errors.js';

/**
 * Secure aggregation (SecAgg+, Bell et al. 2020): the trainer learns the sum of a round's updates,
 * never one learner's. Each update (the learner's model minus the global one) is clipped to
 * [-clipRange, clipRange], quantised and weighted by its example count, so FedAvg stays exact up
 * to the quantisation step.
 */
export interface SecureAggregationOptions {
  /** Bits of the integers the sum is taken modulo (1 to 32). Default 32. */
  bits?: number;
  /** Each value of an update is clipped to [-clipRange, clipRange] before quantising. */
  clipRange: number;
  /**
   * Shares of a learner's secrets needed to rebuild them: a learner that drops is tolerated while
   * this many of its neighbours survive. Default: a majority of its neighbours.
   */
  threshold?: number;
  /** Neighbours each learner shares secrets with. Default: all up to 101 learners, then 2 ceil(5 log2 n). */
  degree?: number;
  /**
   * Most examples one learner's update may weigh (its numExamples; a learner with more drops out of
   * the round). With n learners the quantisation keeps (2^bits - 1) / (n maxExamples) levels, so a
   * smaller bound buys precision. Default 1,000.
   */
  maxExamples?: number;
}

export type ResolvedSecureAggregation = Required<
  Pick<SecureAggregationOptions, 'bits' | 'clipRange' | 'maxExamples'>
> &
  Pick<SecureAggregationOptions, 'threshold' | 'degree'>;

export const DEFAULT_SECURE_BITS = 32;
export const DEFAULT_SECURE_MAX_EXAMPLES = 1_000;

/** The options with their defaults, or INVALID_CONFIG naming the field (under `where`). */
export function resolveSecureAggregation(
  options: SecureAggregationOptions | Readonly<Record<string, unknown>>,
  where = 'federation.secureAggregation',
): ResolvedSecureAggregation {
  const o = options as Partial<Record<keyof SecureAggregationOptions, unknown>>;
  const known = ['bits', 'clipRange', 'threshold', 'degree', 'maxExamples'];
  const extra = Object.keys(o).find((k) => !known.includes(k));
  if (extra !== undefined)
    throw new OiafedError(
      'INVALID_CONFIG',
      `${where}.${extra} is not a known setting (known: ${known.join(', ')})`,
    );
  const int = (key: keyof SecureAggregationOptions, min: number, max: number): number | undefined => {
    const v = o[key];
    if (v === undefined) return undefined;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
      throw invalid(`${where}.${key}`, `an integer from ${min} to ${max}`, v);
    return v as number;
  };
  const clip = o.clipRange;
  if (typeof clip !== 'number' || !(clip > 0) || !Number.isFinite(clip))
    throw invalid(`${where}.clipRange`, 'a number > 0', clip);
  const threshold = int('threshold', 1, 1_000_000);
  const degree = int('degree', 1, 1_000_000);
  if (threshold !== undefined && degree !== undefined && threshold > degree)
    throw invalid(`${where}.threshold`, `at most ${where}.degree (${degree})`, threshold);
  return {
    bits: int('bits', 1, 32) ?? DEFAULT_SECURE_BITS,
    clipRange: clip,
    maxExamples: int('maxExamples', 1, 2 ** 31) ?? DEFAULT_SECURE_MAX_EXAMPLES,
    ...(threshold === undefined ? {} : { threshold }),
    ...(degree === undefined ? {} : { degree }),
  };
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError('INVALID_CONFIG', `${field} must be ${expected} (got ${JSON.stringify(got)})`);
}
