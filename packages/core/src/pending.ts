import type { NodeId } from './envelope.js';
import type { OiafedError } from './errors.js';
import type { Link } from './link.js';

/** A call or acknowledged event waiting for its answer. */
export interface Pending {
  readonly dst: NodeId;
  readonly link: Link;
  resolve(value: unknown): void;
  reject(error: OiafedError): void;
  timer?: TimerHandle;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** Outstanding requests by id; whoever settles one takes it out, so it settles once. */
export class PendingTable {
  readonly #entries = new Map<number, Pending>();
  #seq = 0;

  nextId(): number {
    this.#seq = this.#seq === 0x7fffffff ? 1 : this.#seq + 1;
    return this.#seq;
  }

  add(id: number, entry: Pending): void {
    this.#entries.set(id, entry);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Removes and returns the entry, its timer and abort listener disarmed. */
  take(id: number): Pending | undefined {
    const entry = this.#entries.get(id);
    if (!entry) return undefined;
    this.#entries.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort) entry.signal?.removeEventListener('abort', entry.onAbort);
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
  }
}
