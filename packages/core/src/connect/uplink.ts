import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';
import type { JoinOptions, Node, PeerInfo } from '../rpc/node.js';
import { delay, isRetriable, retryDelay, type RetryPolicy } from '../rpc/retry.js';
import { systemClock, type Clock } from '../wire/clock.js';
import { DEFAULT_JOIN_TIMEOUT } from '../links/connect-timeout.js';
import { joinFailure } from './join-failure.js';

export type UplinkStatus =
  'idle' | 'connecting' | 'registered' | 'disconnected' | 'reconnecting' | 'failed' | 'closed';

export interface UplinkStatusDetail {
  /** Consecutive failed attempts so far (connecting, reconnecting, failed). */
  attempt?: number;
  /** ms until the next attempt (connecting or reconnecting, after a failed attempt). */
  delay?: number;
  reason?: string;
  peer?: NodeId;
  /**
   * Why the last attempt failed (connecting, reconnecting), or why the uplink gave up (failed: a
   * ConnectError, whose `failure` names the cause: refused, dns, http, tls, timeout...).
   */
  error?: OiafedError;
}

export interface UplinkEvents {
  status: [status: UplinkStatus, detail: UplinkStatusDetail];
}

export interface UplinkOptions {
  /** The joining node (a learner). */
  node: Node;
  /** Makes a fresh link to the node to join, e.g. `() => connectWebSocket(url, ...)`. */
  connect: () => Promise<Link>;
  join?: JoinOptions;
  /**
   * Backoff between attempts; `maxAttempts` counts consecutive failures. Default: forever, 250 ms doubling to
   * 10 s, jitter 0.5.
   */
  retry?: Partial<RetryPolicy>;
  /**
   * Where the resume secret of the latest welcome is kept, so that a new link (a reconnect, or a
   * reloaded page with `sessionStorage`) is known as the same client. Default: this object's memory.
   */
  resumeStore?: ResumeStore;
  /**
   * ms the first registration may take, all attempts together: after it the uplink fails (status
   * 'failed') with a ConnectError carrying the last attempt's cause. Default DEFAULT_JOIN_TIMEOUT
   * (30 s); Infinity waits until `close()` or `retry.maxAttempts`. Reconnections are not bounded
   * by it (only by `retry`): a trainer that restarts is waited for.
   */
  joinTimeout?: number;
  /** Where the join's deadline and the waits between attempts are timed. Default: the system's. */
  clock?: Clock;
}

/** Keeps the secret that proves a client is the same one when it joins again. */
export interface ResumeStore {
  load(): string | undefined;
  save(secret: string): void;
}

export const RECONNECT_POLICY: RetryPolicy = {
  maxAttempts: Infinity,
  initialDelay: 250,
  maxDelay: 10_000,
  strategy: 'exponential',
  jitter: 0.5,
};

/**
 * A node's lasting connection to the node it joins: connect, register, and when the link drops,
 * register again under the same id after an exponential backoff with jitter, until `close()`.
 * Kept apart from the RPC (as socket.io keeps its Manager apart from the Socket): calls pending
 * on a dropped link are rejected with DISCONNECTED, never replayed.
 *
 * Statuses: 'connecting' from the first attempt until the first registration (each failed attempt
 * reported with its error and the delay before the next), 'registered', then 'disconnected' and
 * 'reconnecting' when a link drops; 'failed' (final) when a refusal, `retry.maxAttempts` or
 * `joinTimeout` ends it; 'closed' after `close()`.
 */
export class Uplink {
  readonly events = new EventEmitter<UplinkEvents>();
  readonly #o: UplinkOptions;
  readonly #policy: RetryPolicy;
  readonly #clock: Clock;
  readonly #stop = new AbortController();
  #status: UplinkStatus = 'idle';
  #peer: PeerInfo | undefined;
  #first: { resolve: (peer: PeerInfo) => void; reject: (error: OiafedError) => void } | undefined;
  /** The first join's deadline timer, while it runs. */
  #deadline: unknown;
  /** Failed attempts of the first join, and the last one's error. */
  #attempts = 0;
  #last: OiafedError | undefined;
  #looping = false;
  #secret: string | undefined;

  constructor(options: UplinkOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#secret = options.resumeStore?.load();
    this.#policy = { ...RECONNECT_POLICY, ...options.retry };
    options.node.events.on('PEER_DISCONNECTED', (peer, reason) => {
      if (peer !== this.#peer?.id || this.#status !== 'registered') return;
      this.#set('disconnected', { reason, peer });
      void this.#loop();
    });
  }

  get status(): UplinkStatus {
    return this.#status;
  }

  /** The node joined, once registered. */
  get peer(): PeerInfo | undefined {
    return this.#peer;
  }

  /**
   * Connects and registers; resolves on the first registration; rejects with a ConnectError if
   * refused, out of attempts, or out of time (`joinTimeout`).
   */
  start(): Promise<PeerInfo> {
    if (this.#status !== 'idle') throw new OiafedError('INVALID_CONFIG', `uplink already ${this.#status}`);
    const limit = this.#o.joinTimeout ?? DEFAULT_JOIN_TIMEOUT;
    if (!(limit > 0)) throw new OiafedError('INVALID_CONFIG', `joinTimeout must be > 0 ms (got ${limit})`);
    const first = new Promise<PeerInfo>((resolve, reject) => (this.#first = { resolve, reject }));
    if (Number.isFinite(limit)) this.#deadline = this.#clock.setTimeout(() => this.#outOfTime(limit), limit);
    void this.#loop();
    return first;
  }

  /** Stops reconnecting and leaves: says goodbye on the current link, if any. A failed uplink stays 'failed'. */
  close(reason = 'left'): void {
    if (this.#status === 'closed' || this.#stop.signal.aborted) return;
    this.#stop.abort(reason);
    this.#clearDeadline();
    if (this.#peer) this.#o.node.disconnect(this.#peer.id, reason);
    this.#set('closed', { reason });
    this.#first?.reject(new OiafedError('CLOSED', `closed before registering: ${reason}`));
    this.#first = undefined;
  }

  async #loop(): Promise<void> {
    if (this.#looping) return;
    this.#looping = true;
    try {
      for (let failures = 0; !this.#stop.signal.aborted;) {
        // Before the first registration every attempt is part of connecting; after, of reconnecting.
        const state = this.#peer === undefined ? 'connecting' : 'reconnecting';
        this.#set(state, { attempt: failures });
        try {
          const peer = await this.#attempt();
          if (peer === undefined) return;
          this.#peer = peer;
          if (peer.resume !== undefined) {
            this.#secret = peer.resume;
            this.#o.resumeStore?.save(this.#secret);
          }
          this.#clearDeadline();
          this.#set('registered', { peer: peer.id });
          this.#first?.resolve(peer);
          this.#first = undefined;
          return;
        } catch (caught) {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
          if (this.#stop.signal.aborted) return;
          const error = asOiafedError(caught, 'connecting');
          failures += 1;
          this.#last = error;
          if (this.#first) this.#attempts += 1;
          if (!isRetriable(error) || failures >= this.#policy.maxAttempts) {
            this.#fail(joinFailure(error, { attempts: failures }), failures);
            return;
          }
          const wait = retryDelay(this.#policy, failures);
          this.#set(state, { attempt: failures, delay: wait, error });
          await delay(wait, this.#stop.signal, this.#clock).catch(() => undefined);
        }
      }
    } finally {
      this.#looping = false;
    }
  }

  /** One attempt: a link, then the hello; undefined if the uplink stopped meanwhile. */
  async #attempt(): Promise<PeerInfo | undefined> {
    const link = await this.#o.connect();
    if (this.#stop.signal.aborted) {
      link.close('uplink closed');
      return undefined;
    }
    const peer = await this.#o.node.connect(
      link,
      this.#secret === undefined ? this.#o.join : { ...this.#o.join, resume: this.#secret },
    );
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() or the deadline may run meanwhile
    if (this.#stop.signal.aborted) {
      this.#o.node.disconnect(peer.id, 'uplink closed');
      return undefined;
    }
    return peer;
  }

  /** The first join ran out of time: give up, with the last attempt's cause. */
  #outOfTime(limit: number): void {
    this.#deadline = undefined;
    if (!this.#first || this.#stop.signal.aborted) return;
    const error = joinFailure(this.#last, { attempts: this.#attempts, timedOutAfter: limit });
    this.#fail(error, this.#attempts);
  }

  #fail(error: OiafedError, attempts: number): void {
    // Final: no attempt runs after this (one in flight is dropped when it ends).
    this.#stop.abort(error);
    this.#clearDeadline();
    this.#set('failed', { error, reason: error.message, attempt: attempts });
    this.#first?.reject(error);
    this.#first = undefined;
  }

  #clearDeadline(): void {
    if (this.#deadline !== undefined) this.#clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
  }

  #set(status: UplinkStatus, detail: UplinkStatusDetail): void {
    this.#status = status;
    this.events.emit('status', status, detail);
  }
}
