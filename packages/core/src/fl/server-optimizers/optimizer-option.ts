import { boundedText } from '../../wire/bounded-text.js';
import { OiafedError } from '../../wire/errors.js';

/** What values a numeric option accepts, and how its error message says so. */
export interface OptionRange {
  readonly accepts: (value: number) => boolean;
  readonly description: string;
}

export const POSITIVE: OptionRange = { accepts: (x) => x > 0, description: 'a finite number > 0' };
/** Decay rates (momentum, beta1, beta2): 1 or more would never forget, or grow without bound. */
export const DECAY: OptionRange = { accepts: (x) => x >= 0 && x < 1, description: 'a number >= 0 and < 1' };

/**
 * One numeric option of a server optimiser: `fallback` when absent, otherwise a finite number in
 * `range`. Options come from a user's YAML as much as from code, so `value` may be anything.
 */
export function numberOption(name: string, value: unknown, fallback: number, range: OptionRange): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || !range.accepts(value)) {
    const got = typeof value === 'string' ? JSON.stringify(boundedText(value, 64)) : boundedText(value, 64);
    throw new OiafedError(
      'INVALID_CONFIG',
      `strategy.options.${name} must be ${range.description} (got ${got})`,
    );
  }
  return value;
}
