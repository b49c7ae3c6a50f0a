import { OiafedError } from '../wire/errors.js';
import { Inbox, type InboxHandlers } from './inbox.js';

export type PortHandlers<T> = InboxHandlers<T>;

/** One end of an in-process duplex pipe. Delivery is asynchronous (a microtask) and in order. */
export class MemoryPort<T> {
  #peer!: MemoryPort<T>;
  readonly #inbox = new Inbox<T>();
  #closed = false;
  /** Every message this end sent, in order, when the pair was made with `record: true`. */
  readonly sent: T[] | undefined;

  private constructor(record: boolean) {
    this.sent = record ? [] : undefined;
  }

  static pair<T>(record = false): [MemoryPort<T>, MemoryPort<T>] {
    const a = new MemoryPort<T>(record);
    const b = new MemoryPort<T>(record);
    a.#peer = b;
    b.#peer = a;
    return [a, b];
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(message: T): void {
    if (this.#closed) throw new OiafedError('DISCONNECTED', 'memory link is closed');
    this.sent?.push(message);
    const peer = this.#peer;
    queueMicrotask(() => peer.#receive(message));
  }

  listen(handlers: PortHandlers<T>): void {
    this.#inbox.listen(handlers);
  }

  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#peer.#closed = true;
    // Queued after any message already in flight, so the peer reads those first.
    queueMicrotask(() => {
      this.#inbox.close(reason);
      this.#peer.#inbox.close(reason);
    });
  }

  #receive(message: T): void {
    this.#inbox.push(message);
  }
}
