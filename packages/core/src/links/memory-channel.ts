import { OiafedError } from '../wire/errors.js';

export interface PortHandlers<T> {
  data(message: T): void;
  close(reason: string): void;
}

/** One end of an in-process duplex pipe. Delivery is asynchronous (a microtask) and in order. */
export class MemoryPort<T> {
  #peer!: MemoryPort<T>;
  #handlers: PortHandlers<T> | undefined;
  #backlog: T[] = [];
  #closed = false;
  #closeReason: string | undefined;
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
    this.#handlers = handlers;
    const backlog = this.#backlog;
    this.#backlog = [];
    for (const message of backlog) handlers.data(message);
    if (this.#closeReason !== undefined) handlers.close(this.#closeReason);
  }

  close(reason = 'closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#peer.#closed = true;
    // Queued after any message already in flight, so the peer reads those first.
    queueMicrotask(() => {
      this.#notifyClose(reason);
      this.#peer.#notifyClose(reason);
    });
  }

  #receive(message: T): void {
    if (this.#closeReason !== undefined) return;
    if (this.#handlers) this.#handlers.data(message);
    else this.#backlog.push(message);
  }

  #notifyClose(reason: string): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    this.#handlers?.close(reason);
  }
}
