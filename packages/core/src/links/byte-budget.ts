/**
 * Bytes that many holders draw from one limit: the frames still arriving on every link of a
 * server. A holder takes bytes before they come where it can, and gives them back once they are
 * whole (or it closes). One that finds no room may wait its turn, first come first served: a big
 * request at the head is not starved by small ones behind it.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;
  readonly #waiting: Waiter[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes held now, all holders together. */
  get used(): number {
    return this.#used;
  }

  /** Holders waiting for room. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Takes `bytes` if they fit and nobody is waiting first; true when taken. */
  take(bytes: number): boolean {
    if (this.#waiting.length > 0 || this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  release(bytes: number): void {
    this.#used -= bytes;
    this.#grant();
  }

  /**
   * Calls `granted` once `bytes` have been taken for it (never synchronously, nor for more than
   * the limit: ask only for what `take` refused). Returns a function that stops waiting.
   */
  wait(bytes: number, granted: () => void): () => void {
    const waiter = { bytes, granted };
    this.#waiting.push(waiter);
    return () => {
      const at = this.#waiting.indexOf(waiter);
      if (at < 0) return;
      this.#waiting.splice(at, 1);
      // The head may have been what held the others back.
      if (at === 0) this.#grant();
    };
  }

  #grant(): void {
    while (this.#waiting.length > 0 && this.#used + this.#waiting[0]!.bytes <= this.limit) {
      const waiter = this.#waiting.shift()!;
      this.#used += waiter.bytes;
      // Release is called from inside other links' handlers: the waiter resumes on its own turn.
      queueMicrotask(waiter.granted);
    }
  }
}

interface Waiter {
  bytes: number;
  granted: () => void;
}
