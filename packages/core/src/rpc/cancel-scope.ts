import type { CancelSignal } from '../wire/signals.js';

/**
 * A stop button shared by many calls. It is the part of AbortSignal that calls use (CancelSignal), but
 * keeps listeners in a Set: adding and removing is O(1), where an EventTarget pays O(listeners)
 * per add (and warns past ten). A federation round hands it to thousands of calls at once.
 */
export class CancelScope implements CancelSignal {
  #aborted = false;
  #reason: unknown;
  readonly #listeners = new Set<() => void>();

  get aborted(): boolean {
    return this.#aborted;
  }

  get reason(): unknown {
    return this.#reason;
  }

  /** The signal to hand to calls: the scope itself, which call options take as it is. */
  get signal(): CancelSignal {
    return this;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    if (!this.#aborted) this.#listeners.add(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.delete(listener);
  }

  throwIfAborted(): void {
    if (this.#aborted) throw this.#reason;
  }

  abort(reason?: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  }
}
