import type { NodeId } from '../wire/envelope.js';
import type { OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';
import { refTimer, systemClock, type Clock } from '../wire/clock.js';
import type { CancelSignal } from '../wire/signals.js';

/** A call or acknowledged event waiting for its answer. */
export interface Pending {
  readonly dst: NodeId;
  readonly link: Link;
  resolve(value: unknown): void;
  reject(error: OiafedError): void;
  /** ms since epoch after which `expire` is called; 0 for never. */
  deadline: number;
  expire?: () => void;
  signal?: CancelSignal;
  onAbort?: () => void;
}

/**
 * Outstanding requests by id; whoever settles one takes it out, so it settles once.
 *
 * Deadlines share one timer, armed for the earliest of them, instead of a timer per call: arming
 * and clearing a timer costs more than the rest of an in-memory round trip.
 */
export class PendingTable {
  readonly #entries = new Map<number, Pending>();
  #seq = 0;
  #timer: unknown;
  #armedFor = Infinity;

  constructor(readonly clock: Clock = systemClock) {}

  nextId(): number {
    this.#seq = this.#seq === 0x7fffffff ? 1 : this.#seq + 1;
    return this.#seq;
  }

  add(id: number, entry: Pending): void {
    this.#entries.set(id, entry);
    if (entry.deadline > 0 && entry.deadline < this.#armedFor) this.#arm(entry.deadline);
    else if (this.#entries.size === 1) refTimer(this.#timer, true);
  }

  /** The entry, left in the table. */
  get(id: number): Pending | undefined {
    return this.#entries.get(id);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Removes and returns the entry, its abort listener disarmed. */
  take(id: number): Pending | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
    // Left armed but unreferenced: re-arming on the next call would cost more than a stray tick.
    if (this.#entries.size === 0) refTimer(this.#timer, false);
    return entry;
  }

  /** Rejects at once everything that went out on `link`. */
  rejectLink(link: Link, error: () => OiafedError): void {
    for (const [id, entry] of this.#entries) {
      if (entry.link === link) this.take(id)?.reject(error());
    }
  }

  rejectAll(error: () => OiafedError): void {
    for (const id of [...this.#entries.keys()]) this.take(id)?.reject(error());
    this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#armedFor = at;
    this.#timer = this.clock.setTimeout(() => this.#expireDue(), Math.max(0, at - this.clock.now()));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedFor = Infinity;
  }

  #expireDue(): void {
    this.#timer = undefined;
    this.#armedFor = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const entry of [...this.#entries.values()]) {
      if (entry.deadline === 0) continue;
      if (entry.deadline <= now) entry.expire?.();
      else if (entry.deadline < next) next = entry.deadline;
    }
    if (next < Infinity && next < this.#armedFor) this.#arm(next);
  }
}
