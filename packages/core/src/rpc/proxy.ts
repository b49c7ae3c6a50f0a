import type { NodeId } from '../wire/envelope.js';
import type { Transferable } from '../links/link.js';
import type { RetryPolicy } from './retry.js';
import type { CancelSignal } from '../wire/signals.js';

export interface CallOptions {
  /** ms before the call fails with TIMEOUT and the remote is told to cancel; 0 waits forever. */
  timeout?: number;
  /** Aborting cancels the call (ABORTED) and tells the remote, whose handler sees its signal abort. */
  signal?: CancelSignal;
  /**
   * Retry on the codes of RETRIABLE_CODES (TIMEOUT, DISCONNECTED, NOT_CONNECTED, UNKNOWN_TARGET). Only for
   * calls safe to repeat.
   */
  retry?: boolean | Partial<RetryPolicy>;
  /** Buffers to move rather than copy, where the link can (see `transfer()`). */
  transfer?: readonly Transferable[];
}

/** Names of events a node accepts, with their payload types. */
export type EventMap = Record<string, unknown>;

/** The keys of T whose values are functions: what a proxy of T can call. */
export type MethodName<T> = {
  [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T] &
  string;

export type ArgsOf<T, M extends keyof T> = T[M] extends (...args: infer A) => unknown ? A : never;
export type ResultOf<T, M extends keyof T> = T[M] extends (...args: never[]) => infer R ? Awaited<R> : never;

/** A method as seen from the other side of a link: same arguments, always a promise. */
export type RemoteMethod<F> = F extends (...args: infer A) => infer R
  ? (...args: A) => Promise<Awaited<R>>
  : never;

export interface ProxyBuiltins<T, E extends EventMap> {
  /** The node this proxy calls. */
  readonly $id: NodeId;
  /** Calls a method by name, e.g. one chosen at run time. */
  $call<M extends MethodName<T>>(method: M, ...args: ArgsOf<T, M>): Promise<ResultOf<T, M>>;
  /** The same proxy with these options on every call (timeout, signal, retry, transfer). */
  $with(options: CallOptions): RemoteProxy<T, E>;
  /** One-way event; a receiver with no handler for it reports back (the sender's node then emits EVENT_FAILED). */
  $emit<K extends keyof E & string>(name: K, payload: E[K]): void;
  /** Event that resolves once the receiver's handlers have run, and rejects if they threw or none exist. */
  $emitWithAck<K extends keyof E & string>(name: K, payload: E[K], options?: CallOptions): Promise<void>;
}

/**
 * A typed handle on a remote object: `await proxy.train(params)`. Built-ins start with `$`;
 * `then` is undefined so that `await proxy` does not hang.
 */
export type RemoteProxy<T, E extends EventMap = EventMap> = {
  readonly [K in MethodName<T>]: RemoteMethod<T[K]>;
} & ProxyBuiltins<T, E>;

/** What a proxy needs from its node. */
export interface ProxyHost {
  call(dst: NodeId, method: string, args: unknown[], options?: CallOptions): Promise<unknown>;
  emit(dst: NodeId, name: string, payload: unknown): void;
  emitWithAck(dst: NodeId, name: string, payload: unknown, options?: CallOptions): Promise<void>;
}

const NOT_REMOTE = new Set<string | symbol>(['then', 'toJSON']);

export function createProxy<T, E extends EventMap>(
  host: ProxyHost,
  id: NodeId,
  options: CallOptions = {},
): RemoteProxy<T, E> {
  const callers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  // Untyped inside: the RemoteProxy type below is the contract users see.
  const builtins: Record<string, unknown> = {
    $id: id,
    $call: (method: string, ...args: unknown[]) => host.call(id, method, args, options),
    $with: (more: CallOptions) => createProxy<unknown, EventMap>(host, id, { ...options, ...more }),
    $emit: (name: string, payload: unknown) => host.emit(id, name, payload),
    $emitWithAck: (name: string, payload: unknown, more?: CallOptions) =>
      host.emitWithAck(id, name, payload, { ...options, ...more }),
  };
  return new Proxy(Object.create(null) as object, {
    get(_target, prop) {
      const cached = callers.get(prop as string);
      if (cached) return cached;
      if (typeof prop === 'symbol' || NOT_REMOTE.has(prop)) return undefined;
      if (prop.startsWith('$')) return builtins[prop];
      const caller = (...args: unknown[]) => host.call(id, prop, args, options);
      callers.set(prop, caller);
      return caller;
    },
    has: (_target, prop) => typeof prop === 'string' && !NOT_REMOTE.has(prop),
  }) as RemoteProxy<T, E>;
}
