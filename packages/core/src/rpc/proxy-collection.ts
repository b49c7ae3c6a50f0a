import type { NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import type { ArgsOf, CallOptions, EventMap, MethodName, ProxyHost, ResultOf } from './proxy.js';

/** The outcome of one node's part in a collective call: never a rejection of the whole. */
export type Settled<R> = { id: NodeId; ok: true; value: R } | { id: NodeId; ok: false; error: OiafedError };

export interface CollectOptions<R> extends CallOptions {
  /** Called as each node's outcome arrives, before the whole collection settles. */
  onSettled?: (outcome: Settled<R>) => void;
}

/**
 * Calls on several nodes at once, with all-settled semantics: one node failing or timing out never
 * fails the others, and each node's call has its own timeout.
 */
export class ProxyCollection<T, E extends EventMap = EventMap> {
  readonly ids: readonly NodeId[];
  readonly #host: ProxyHost;
  readonly #options: CallOptions;

  constructor(host: ProxyHost, ids: readonly NodeId[], options: CallOptions = {}) {
    this.#host = host;
    this.ids = [...ids];
    this.#options = options;
  }

  /** The same method with the same arguments on every node. */
  broadcast<M extends MethodName<T>>(
    method: M,
    args: ArgsOf<T, M>,
    options?: CollectOptions<ResultOf<T, M>>,
  ): Promise<Settled<ResultOf<T, M>>[]> {
    return this.#gather(
      this.ids,
      (id) => this.#host.call(id, method, args, this.#merge(options)) as Promise<ResultOf<T, M>>,
      options,
    );
  }

  /** The same method with per-node arguments; nodes missing from `argsByNode` are not called. */
  collect<M extends MethodName<T>>(
    method: M,
    argsByNode: ReadonlyMap<NodeId, ArgsOf<T, M>> | Readonly<Record<NodeId, ArgsOf<T, M>>>,
    options?: CollectOptions<ResultOf<T, M>>,
  ): Promise<Settled<ResultOf<T, M>>[]> {
    const entries = new Map<NodeId, ArgsOf<T, M>>(
      argsByNode instanceof Map ? argsByNode : Object.entries(argsByNode as Record<NodeId, ArgsOf<T, M>>),
    );
    const ids = this.ids.filter((id) => entries.has(id));
    return this.#gather(
      ids,
      (id) => this.#host.call(id, method, entries.get(id)!, this.#merge(options)) as Promise<ResultOf<T, M>>,
      options,
    );
  }

  /** An acknowledged event to every node; each outcome says whether that node's handlers ran. */
  emitWithAck<K extends keyof E & string>(
    name: K,
    payload: E[K],
    options?: CollectOptions<void>,
  ): Promise<Settled<void>[]> {
    return this.#gather(
      this.ids,
      (id) => this.#host.emitWithAck(id, name, payload, this.#merge(options)),
      options,
    );
  }

  /** A one-way event to every node. */
  emit<K extends keyof E & string>(name: K, payload: E[K]): void {
    for (const id of this.ids) this.#host.emit(id, name, payload);
  }

  #merge(options: CallOptions | undefined): CallOptions {
    return options ? { ...this.#options, ...options } : this.#options;
  }

  #gather<R>(
    ids: readonly NodeId[],
    run: (id: NodeId) => Promise<R>,
    options: CollectOptions<R> | undefined,
  ): Promise<Settled<R>[]> {
    return Promise.all(
      ids.map(async (id): Promise<Settled<R>> => {
        let outcome: Settled<R>;
        try {
          outcome = { id, ok: true, value: await run(id) };
        } catch (error) {
          outcome = { id, ok: false, error: asOiafedError(error) };
        }
        options?.onSettled?.(outcome);
        return outcome;
      }),
    );
  }
}
