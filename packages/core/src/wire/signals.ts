import { boundedText } from './bounded-text.js';
import { systemClock, type Clock } from './clock.js';
import { OiafedError } from './errors.js';

/**
 * The part of AbortSignal that calls and waits read. A real AbortSignal is one, and so is a
 * CancelScope (a signal for thousands of calls at once), without a cast between them.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface Settle<T> {
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

/** Takes off what a wait put on (listeners); told the error when the wait failed. */
export type Cleanup = (error?: unknown) => void;

/**
 * The one "promise + timer + listener cleanup" of the code base: a promise that `setup` settles
 * through `settle` (it may do so at once), or that `onTimeout` settles after `ms`. Only the first
 * settlement counts; the timer is cleared and `setup`'s cleanup runs exactly once, before the
 * promise settles. `ms` of Infinity waits without a timer. If `setup` throws, the promise rejects
 * with that. The timer is armed on `clock` (a node passes its own, so tests drive it by hand).
 */
export function settleWithin<T>(
  ms: number,
  setup: (settle: Settle<T>) => Cleanup,
  onTimeout: (settle: Settle<T>) => void,
  clock: Clock = systemClock,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    type Outcome = { ok: true; value: T } | { ok: false; error: unknown };
    let outcome: Outcome | undefined;
    let cleanup: Cleanup | undefined;
    const finish = (o: Outcome, done: Cleanup) => {
      clock.clearTimeout(timer);
      if (o.ok) {
        done();
        resolve(o.value);
      } else {
        done(o.error);
        reject(o.error);
      }
    };
    const settle: Settle<T> = {
      resolve: (value) => record({ ok: true, value }),
      reject: (error) => record({ ok: false, error }),
    };
    function record(o: Outcome): void {
      if (outcome) return;
      outcome = o;
      if (cleanup) finish(o, cleanup);
    }
    const timer = Number.isFinite(ms)
      ? clock.setTimeout(() => onTimeout(settle), Math.max(0, ms))
      : undefined;
    try {
      cleanup = setup(settle);
    } catch (error) {
      // Nothing was set up to take off: the wait fails with what setting it up threw.
      clock.clearTimeout(timer);
      reject(error);
      return;
    }
    if (outcome) finish(outcome, cleanup);
  });
}

/** TIMEOUT: "`what` within `ms` ms" (e.g. "no connection to ws://... within 10000 ms"). */
export function timeoutError(what: string, ms: number): OiafedError {
  return new OiafedError('TIMEOUT', `${what} within ${ms} ms`);
}

/**
 * Waits for what `setup` listens for, bounded: after `ms` it fails with TIMEOUT naming `what`
 * (a function is asked at that moment, for a message that counts something).
 */
export function onceWithTimeout<T>(
  ms: number,
  what: string | (() => string),
  setup: (settle: Settle<T>) => Cleanup,
  clock: Clock = systemClock,
): Promise<T> {
  return settleWithin(
    ms,
    setup,
    (settle) => settle.reject(timeoutError(typeof what === 'string' ? what : what(), ms)),
    clock,
  );
}

/** `promise`, or TIMEOUT naming `what` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return onceWithTimeout<T>(ms, what, (settle) => {
    promise.then(settle.resolve, settle.reject);
    return () => undefined;
  });
}

/** ABORTED with the signal's reason, or that reason itself when it is already an OiafedError. */
export function abortError(signal: CancelSignal): OiafedError {
  const reason = signal.reason;
  if (reason instanceof OiafedError) return reason;
  // Any other reason is described by boundedText, which never calls its toString (that may throw).
  const why =
    reason instanceof Error
      ? reason.message
      : reason === undefined
        ? 'aborted'
        : typeof reason === 'string'
          ? reason
          : boundedText(reason);
  return new OiafedError('ABORTED', `call aborted: ${why}`, { cause: reason });
}

/** Waits `ms` (on `clock`), or rejects with ABORTED as soon as `signal` aborts. */
export function delay(ms: number, signal?: CancelSignal, clock: Clock = systemClock): Promise<void> {
  return settleWithin(
    ms,
    (settle) => {
      if (!signal) return () => undefined;
      if (signal.aborted) {
        settle.reject(abortError(signal));
        return () => undefined;
      }
      const onAbort = () => settle.reject(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      return () => signal.removeEventListener('abort', onAbort);
    },
    (settle) => settle.resolve(),
    clock,
  );
}
