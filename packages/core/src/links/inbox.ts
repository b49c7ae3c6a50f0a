export interface InboxHandlers<T> {
  data(item: T): void;
  close(reason: string): void;
}

/**
 * What a channel received before its one listener arrived, and its close: kept in order and handed
 * over when `listen` is called, so nothing sent right after a link opens is lost. Nothing is taken
 * after the close, and the close is reported once. Every link kind receives through one.
 */
export class Inbox<T> {
  #handlers: InboxHandlers<T> | undefined;
  #backlog: T[] = [];
  #closedWith: string | undefined;

  /** Why the channel closed, once it has. */
  get closedWith(): string | undefined {
    return this.#closedWith;
  }

  push(item: T): void {
    if (this.#closedWith !== undefined) return;
    if (this.#handlers) this.#handlers.data(item);
    else this.#backlog.push(item);
  }

  /** Records the close and tells the listener, the first time; false when it was closed already. */
  close(reason: string): boolean {
    if (this.#closedWith !== undefined) return false;
    this.#closedWith = reason;
    this.#handlers?.close(reason);
    return true;
  }

  listen(handlers: InboxHandlers<T>): void {
    this.#handlers = handlers;
    const backlog = this.#backlog;
    this.#backlog = [];
    for (const item of backlog) handlers.data(item);
    if (this.#closedWith !== undefined) handlers.close(this.#closedWith);
  }
}
