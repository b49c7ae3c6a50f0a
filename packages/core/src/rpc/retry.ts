import { OiafedError, type ErrorCode } from '../wire/errors.js';
import { delay, type CancelSignal } from '../wire/signals.js';

// Where they were defined before the signals had their own module; node.ts imports them from here.
export { abortError, delay } from '../wire/signals.js';

export type RetryStrategy = 'constant' | 'linear' | 'exponential';

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Delay before the second attempt, ms. */
  initialDelay: number;
  /** No delay grows past this, ms. */
  maxDelay: number;
  strategy: RetryStrategy;
  /** Fraction of each delay drawn at random (0: none, 1: anywhere from 0 to twice the delay). */
  jitter: number;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 3,
  initialDelay: 100,
  maxDelay: 5_000,
  strategy: 'exponential',
  jitter: 0.2,
};

/**
 * The one set of failures another attempt may cure, for calls marked `retry` and for a learner's
 * reconnects alike. A handler's own error and a refusal (wrong token, wrong version, too large) are
 * final. ID_TAKEN is not: on a reconnect, the trainer may not yet have noticed that the client's
 * previous link is dead (a call never fails with it).
 */
export const RETRIABLE_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'TIMEOUT',
  'DISCONNECTED',
  'UNKNOWN_TARGET',
  'NOT_CONNECTED',
  'ID_TAKEN',
]);

export function isRetriable(error: unknown): boolean {
  return error instanceof OiafedError && RETRIABLE_CODES.has(error.code);
}

/** The wait after the `failures`-th failed attempt (1 for the first). */
export function retryDelay(
  policy: RetryPolicy,
  failures: number,
  random: () => number = Math.random,
): number {
  const n = Math.max(1, failures);
  const base =
    policy.strategy === 'constant'
      ? policy.initialDelay
      : policy.strategy === 'linear'
        ? policy.initialDelay * n
        : policy.initialDelay * 2 ** (n - 1);
  const capped = Math.min(base, policy.maxDelay);
  const spread = capped * policy.jitter;
  return Math.max(0, Math.min(policy.maxDelay, capped - spread + 2 * spread * random()));
}

export function resolveRetry(retry: boolean | Partial<RetryPolicy> | undefined): RetryPolicy | undefined {
  if (!retry) return undefined;
  return retry === true ? DEFAULT_RETRY : { ...DEFAULT_RETRY, ...retry };
}

/** Runs `attempt` until it succeeds, fails with a non-retriable error, or the policy runs out. */
export async function withRetry<T>(
  policy: RetryPolicy | undefined,
  attempt: () => Promise<T>,
  signal?: CancelSignal,
): Promise<T> {
  if (!policy) return attempt();
  for (let failures = 0; ;) {
    try {
      return await attempt();
    } catch (error) {
      failures += 1;
      if (!isRetriable(error) || failures >= policy.maxAttempts) throw error;
      await delay(retryDelay(policy, failures), signal);
    }
  }
}
