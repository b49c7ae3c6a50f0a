/**
 * Where a node reads the time and arms its timers (heartbeat, handshake and call deadlines), so a
 * test can drive them by hand instead of waiting real milliseconds.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** In Node an unreferenced timer does not keep the process alive; browsers (and test clocks) have no such notion. */
export function refTimer(handle: unknown, ref: boolean): void {
  const t = handle as { ref?: () => void; unref?: () => void } | undefined;
  if (ref) t?.ref?.();
  else t?.unref?.();
}
