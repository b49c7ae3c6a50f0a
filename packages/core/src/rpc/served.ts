import { BROADCAST, type CallFrame, type EventFrame, type NodeId } from '../wire/envelope.js';
import { OiafedError, protocolError, toWireError, type WireError } from '../wire/errors.js';
import { enterCall, leaveCall, RunningCall } from './call-context.js';
import type { LinkSession } from './link-session.js';
import type { Outbox } from './outbox.js';
import { transfersOf } from './transfer.js';

export type EventHandler<P = unknown> = (payload: P, from: NodeId) => void | Promise<void>;

/** What a node serves (methods and event handlers), and how it answers the calls and events it gets. */
export class Served {
  readonly #methods = new Map<string, (...args: unknown[]) => unknown>();
  readonly #handlers = new Map<string, Set<EventHandler>>();

  constructor(
    readonly outbox: Outbox,
    readonly exposeStack: boolean,
  ) {}

  get #self(): NodeId {
    return this.outbox.self;
  }

  /** See Node.serve. */
  serve(target: object, options: { methods?: readonly string[] } = {}): () => void {
    const names = options.methods ?? exposedMethods(target);
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
      added.push(name);
    }
    return () => added.forEach((name) => this.#methods.delete(name));
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
