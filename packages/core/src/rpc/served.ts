import { BROADCAST, type CallFrame, type EventFrame, type NodeId } from '../wire/envelope.js';
import { OiafedError, protocolError, toWireError, type WireError } from '../wire/errors.js';
import { enterCall, leaveCall, RunningCall } from './call-context.js';
import type { LinkSession } from './link-session.js';
import type { Outbox } from './outbox.js';
import { transfersOf } from './transfer.js';

export type EventHandler<P = unknown> = (payload: P, from: NodeId) => void | Promise<void>;

export interface ServeOptions {
  /** Only these of the object's methods (default: every one `exposedMethods` finds). */
  methods?: readonly string[];
  /**
   * Only peers of these roles, linked directly, may call them; any other caller is refused
   * UNAUTHORIZED. Default: any peer.
   */
  roles?: readonly string[];
}

/** What a confined role may do on this node (see `Node.confine`). */
export interface ConfineOptions {
  /** At most this many of its peers connected at once; one more is refused OVERLOADED at its hello. */
  maxPeers?: number;
}

/**
 * What a node serves (methods and event handlers), to whom, and how it answers the calls and events
 * it gets.
 */
export class Served {
  readonly #methods = new Map<string, (...args: unknown[]) => unknown>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  /** The roles each role-restricted method is served to (most nodes have none). */
  #restricted: Map<string, ReadonlySet<string>> | undefined;
  /** Roles whose peers may call only the methods served to them (see `Node.confine`). */
  #confined: Map<string, ConfineOptions> | undefined;

  constructor(
    readonly outbox: Outbox,
    readonly exposeStack: boolean,
  ) {}

  get #self(): NodeId {
    return this.outbox.self;
  }

  /** See Node.serve. */
  serve(target: object, options: ServeOptions = {}): () => void {
    const names = options.methods ?? exposedMethods(target);
    const roles = options.roles && new Set(options.roles);
    const added: string[] = [];
    for (const name of names) {
      const fn = (target as Record<string, unknown>)[name];
      if (
        name in Object.prototype ||
        name === 'constructor' ||
        name === 'prototype' ||
        typeof fn !== 'function'
      ) {
        throw new OiafedError(
          'INVALID_CONFIG',
          `cannot serve ${JSON.stringify(name)}: not an own method of the served object`,
        );
      }
      this.#methods.set(name, (fn as (...args: unknown[]) => unknown).bind(target));
      if (roles) (this.#restricted ??= new Map()).set(name, roles);
      else this.#restricted?.delete(name);
      added.push(name);
    }
    return () =>
      added.forEach((name) => {
        this.#methods.delete(name);
        this.#restricted?.delete(name);
      });
  }

  /** See Node.confine. */
  confine(role: string, options: ConfineOptions): () => void {
    const confined = (this.#confined ??= new Map());
    confined.set(role, options);
    return () => {
      if (confined.get(role) === options) confined.delete(role);
    };
  }

  /** Whether peers of `role` are confined to the methods served to them. */
  confines(role: string): boolean {
    return this.#confined !== undefined && this.#confined.has(role);
  }

  /** How many peers of `role` may be connected at once (undefined: no bound). */
  maxPeers(role: string): number | undefined {
    return this.#confined?.get(role)?.maxPeers;
  }

  on<P = unknown>(name: string, handler: EventHandler<P>): () => void {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler as EventHandler);
    return () => {
      set.delete(handler as EventHandler);
      if (set.size === 0 && this.#handlers.get(name) === set) this.#handlers.delete(name);
    };
  }

  answerCall(session: LinkSession, frame: CallFrame): void {
    if (this.#restricted !== undefined || this.#confined !== undefined) {
      const refusal = this.#refusal(session, frame);
      if (refusal)
        return this.answerError(session, frame.id, frame.src, protocolError('UNAUTHORIZED', refusal));
    }
    const fn = this.#methods.get(frame.method);
    if (!fn) {
      const hint = this.#handlers.has(frame.method) ? `; it is an event here: emit it instead` : '';
      return this.answerError(
        session,
        frame.id,
        frame.src,
        protocolError(
          'METHOD_NOT_FOUND',
          `node ${this.#self} has no method ${JSON.stringify(frame.method)}${hint}`,
        ),
      );
    }
    const call = new RunningCall(frame.src, frame.meta);
    let out: unknown;
    const previous = enterCall(call);
    try {
      out = fn(...frame.args);
    } catch (error) {
      return this.answerError(session, frame.id, frame.src, toWireError(error, this.exposeStack));
    } finally {
      leaveCall(previous);
    }
    if (
      out instanceof Promise ||
      (typeof out === 'object' && out !== null && typeof (out as PromiseLike<unknown>).then === 'function')
    ) {
      // Only a call still running can be cancelled: a synchronous one is answered before any cancel is read.
      const k = session.runningKey(frame.src, frame.id);
      session.running.set(k, call);
      (out as PromiseLike<unknown>).then(
        (value) => {
          session.running.delete(k);
          this.#finishCall(session, frame, call, value);
        },
        (error: unknown) => {
          session.running.delete(k);
          if (!call.cancelled)
            this.answerError(session, frame.id, frame.src, toWireError(error, this.exposeStack));
        },
      );
    } else {
      this.#finishCall(session, frame, call, out);
    }
  }

  /**
   * Why the caller may not call this method: it is served to other roles, or the caller's role is
   * confined to the methods served to it. A call relayed to us has no role we can vouch for.
   */
  #refusal(session: LinkSession, frame: CallFrame): string | undefined {
    const role = frame.src === session.peer ? session.role : undefined;
    const allowed = this.#restricted?.get(frame.method);
    if (allowed && (role === undefined || !allowed.has(role)))
      return `method ${JSON.stringify(frame.method)} is served to ${[...allowed].join(', ')} peers linked to ${this.#self} only`;
    if (!allowed && role !== undefined && this.confines(role))
      return `${role} peers may call only the methods served to them (${JSON.stringify(frame.method)} is not one)`;
    return undefined;
  }

  #finishCall(session: LinkSession, frame: CallFrame, call: RunningCall, value: unknown): void {
    if (call.cancelled || session.phase === 'closed') return;
    const answer = { kind: 'result', id: frame.id, src: this.#self, dst: frame.src, value } as const;
    try {
      this.outbox
        .send(session, answer, typeof value === 'object' && value !== null ? transfersOf([value]) : undefined)
        ?.catch((e: unknown) => this.answerError(session, frame.id, frame.src, toWireError(e, false)));
    } catch (error) {
      // The result could not be sent (too large, not serializable): the caller must still hear.
      this.answerError(session, frame.id, frame.src, toWireError(error, false));
    }
  }

  onEvent(session: LinkSession, frame: EventFrame): void {
    const handlers = this.#handlers.get(frame.name);
    if (!handlers) {
      if (frame.dst === BROADCAST) return;
      const hint = this.#methods.has(frame.name) ? `; it is a method here: call it instead` : '';
      return this.answerEvent(
        session,
        frame,
        protocolError(
          'NO_HANDLER',
          `node ${this.#self} has no handler for event ${JSON.stringify(frame.name)}${hint}`,
        ),
      );
    }
    let waits: PromiseLike<void>[] | undefined;
    let failure: unknown;
    for (const handler of [...handlers]) {
      try {
        const out = handler(frame.payload, frame.src);
        if (out && typeof out.then === 'function') (waits ??= []).push(out);
      } catch (error) {
        failure ??= error;
      }
    }
    const done = (error: unknown) => {
      if (error !== undefined) this.answerEvent(session, frame, toWireError(error, this.exposeStack));
      else if (frame.id !== 0)
        this.outbox.sendQuietly(session, { kind: 'ack', id: frame.id, src: this.#self, dst: frame.src });
    };
    if (!waits || failure !== undefined) return done(failure);
    Promise.all(waits).then(
      () => done(undefined),
      (error: unknown) => done(error ?? new Error('event handler rejected')),
    );
  }

  /**
   * Answers a request this node will not run: a call or acknowledged event with the error, a one-way event
   * with an event error.
   */
  refuse(session: LinkSession, frame: CallFrame | EventFrame, error: WireError): void {
    if (frame.kind === 'call') this.answerError(session, frame.id, frame.src, error);
    else this.answerEvent(session, frame, error);
  }

  answerEvent(session: LinkSession, frame: EventFrame, error: WireError): void {
    if (frame.dst === BROADCAST) return;
    if (frame.id !== 0) return this.answerError(session, frame.id, frame.src, error);
    this.outbox.sendQuietly(session, {
      kind: 'error',
      id: 0,
      src: this.#self,
      dst: frame.src,
      error,
      event: frame.name,
    });
  }

  answerError(session: LinkSession, id: number, dst: NodeId, error: WireError): void {
    this.outbox.sendQuietly(session, { kind: 'error', id, src: this.#self, dst, error });
  }
}

/** Method names of an object and its classes, short of Object.prototype; never constructor or `_x`. */
export function exposedMethods(target: object): string[] {
  const names = new Set<string>();
  for (
    let o: object | null = target;
    o && o !== Object.prototype && o !== Function.prototype;
    o = Object.getPrototypeOf(o) as object | null
  ) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name.startsWith('_') || name in Object.prototype) continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}
