import type { Meta, NodeId } from '../wire/envelope.js';

/** What a served method can learn about the call it is answering. */
export interface CallContext {
  /** The node that made the call. */
  readonly caller: NodeId;
  /** Aborts when the caller cancels, times out, or disconnects. */
  readonly signal: AbortSignal;
  readonly meta: Meta | undefined;
  /**
   * ms the caller said it waits for the answer, counted from when it sent the call; undefined when it
   * waits without a limit. The caller's word: a bound to answer within, never a reason to wait longer.
   */
  readonly timeout: number | undefined;
}

/** A call being answered. The AbortController is made only if the handler asks for the signal. */
export class RunningCall implements CallContext {
  readonly caller: NodeId;
  readonly meta: Meta | undefined;
  readonly timeout: number | undefined;
  #controller: AbortController | undefined;
  #cancelled: string | undefined;

  constructor(caller: NodeId, meta: Meta | undefined) {
    this.caller = caller;
    this.meta = meta;
    const timeout = meta?.timeout;
    this.timeout =
      typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout) ? timeout : undefined;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#cancelled !== undefined) this.#controller.abort(this.#cancelled);
    }
    return this.#controller.signal;
  }

  get cancelled(): boolean {
    return this.#cancelled !== undefined;
  }

  cancel(reason: string): void {
    if (this.#cancelled !== undefined) return;
    this.#cancelled = reason;
    this.#controller?.abort(reason);
  }
}

let current: CallContext | undefined;

/**
 * The context of the call being answered. Read it in the synchronous part of a served method
 * (before its first `await`): `const { signal } = currentCall()`.
 */
export function currentCall(): CallContext {
  if (!current)
    throw new Error('currentCall() is only available inside a served method, before its first await');
  return current;
}

/** Makes `ctx` current for the synchronous run of a handler; returns what to restore after. */
export function enterCall(ctx: CallContext): CallContext | undefined {
  const previous = current;
  current = ctx;
  return previous;
}

export function leaveCall(previous: CallContext | undefined): void {
  current = previous;
}
