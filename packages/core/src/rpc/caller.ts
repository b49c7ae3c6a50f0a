import type { CallFrame, EventFrame, NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import { boundedText } from '../wire/bounded-text.js';
import { MAX_REASON_LENGTH } from '../wire/frame-limits.js';
import type { Clock } from '../wire/clock.js';
import type { LinkSession } from './link-session.js';
import type { Outbox } from './outbox.js';
import { PendingTable, type Pending } from './pending.js';
import type { CallOptions } from './proxy.js';
import { abortError, resolveRetry, withRetry } from './retry.js';
import { transfersOf } from './transfer.js';

/** What the caller needs of its node: where a frame for `dst` leaves, and whether the node is open. */
export interface CallerHost {
  route(dst: NodeId): LinkSession;
  closed(): boolean;
  readonly stats: { strayAnswers: number };
}

/**
 * The requests a node has out (calls and acknowledged events): ids, deadlines, cancels, retries
 * and which answer settles which.
 */
export class Caller {
  readonly pending: PendingTable;

  constructor(
    readonly host: CallerHost,
    readonly outbox: Outbox,
    readonly timeout: number,
    clock: Clock,
  ) {
    this.pending = new PendingTable(clock);
  }

  /**
   * Sends a call of `name` with `values` as its arguments, or an acknowledged event `name` with
   * `values[0]` as its payload, retried as `options.retry` says: every kind of request the same way.
   */
  request(
    kind: 'call' | 'event',
    dst: NodeId,
    name: string,
    values: unknown[],
    options: CallOptions,
  ): Promise<unknown> {
    if (!options.retry) return this.#once(kind, dst, name, values, options);
    return withRetry(
      resolveRetry(options.retry),
      () => this.#once(kind, dst, name, values, options),
      options.signal,
    );
  }

  /** One attempt under a fresh id (a new one each time, so a retry never reuses a sent frame). */
  #once(
    kind: 'call' | 'event',
    dst: NodeId,
    name: string,
    values: unknown[],
    options: CallOptions,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.host.closed()) return reject(new OiafedError('CLOSED', `node ${this.outbox.self} is closed`));
      const signal = options.signal;
      if (signal?.aborted) return reject(abortError(signal));
      let session: LinkSession;
      try {
        session = this.host.route(dst);
      } catch (error) {
        return reject(error);
      }
      const id = this.pending.nextId();
      const src = this.outbox.self;
      const timeout = options.timeout ?? this.timeout;
      // A call says how long its caller waits (as gRPC propagates deadlines): a callee that asks others
      // in turn (an aggregator asking its learners) answers within it.
      const frame: CallFrame | EventFrame =
        kind === 'call'
          ? { kind, id, src, dst, method: name, args: values, ...(timeout > 0 ? { meta: { timeout } } : {}) }
          : { kind, id, src, dst, name, payload: values[0] };
      const entry: Pending = {
        dst,
        link: session.link,
        resolve,
        reject,
        deadline: timeout > 0 ? this.pending.clock.now() + timeout : 0,
      };
      if (timeout > 0) {
        entry.expire = () =>
          this.#giveUp(
            session,
            dst,
            id,
            new OiafedError('TIMEOUT', `${kind} ${name} to ${dst} timed out after ${timeout} ms`),
          );
      }
      if (signal) {
        entry.signal = signal;
        entry.onAbort = () => this.#giveUp(session, dst, id, abortError(signal));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.add(id, entry);
      try {
        this.outbox
          .send(session, frame, options.transfer ?? transfersOf(values))
          ?.catch((error: unknown) => this.#failed(id, error));
      } catch (error) {
        this.#failed(id, error);
      }
    });
  }

  /** Sending failed: the request is rejected with what went wrong, truthfully coded. */
  #failed(id: number, error: unknown): void {
    this.pending.take(id)?.reject(asOiafedError(error, 'sending'));
  }

  /** Rejects a pending request locally and tells the remote to stop working on it. */
  #giveUp(session: LinkSession, dst: NodeId, id: number, error: OiafedError): void {
    const entry = this.pending.take(id);
    if (!entry) return;
    entry.reject(error);
    this.outbox.sendQuietly(session, {
      kind: 'cancel',
      id,
      src: this.outbox.self,
      dst,
      reason: boundedText(error.message, MAX_REASON_LENGTH),
    });
  }

  /**
   * The request an answer settles, taken out of the table; undefined (and counted) when it answers
   * nothing of ours: ids are guessable, so an answer counts only on the link the request went out
   * on, from the node asked or the relay it went through (which answers for a target it cannot reach).
   */
  answered(session: LinkSession, src: NodeId, id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry?.link !== session.link || (src !== entry.dst && src !== session.peer)) {
      this.host.stats.strayAnswers += 1;
      return undefined;
    }
    return this.pending.take(id);
  }
}
