import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';
import type { JoinOptions, Node, PeerInfo } from '../rpc/node.js';
import { delay, isRetriable, retryDelay, type RetryPolicy } from '../rpc/retry.js';

export type UplinkStatus =
  'idle' | 'connecting' | 'registered' | 'disconnected' | 'reconnecting' | 'failed' | 'closed';

export interface UplinkStatusDetail {
  /** Consecutive failed attempts so far (reconnecting). */
  attempt?: number;
  /** ms until the next attempt (reconnecting). */
  delay?: number;
  reason?: string;
  peer?: NodeId;
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
 */
export class Uplink {
  readonly events = new EventEmitter<UplinkEvents>();
  readonly #o: UplinkOptions;
  readonly #policy: RetryPolicy;
  readonly #stop = new AbortController();
  #status: UplinkStatus = 'idle';
  #peer: PeerInfo | undefined;
  #first: { resolve: (peer: PeerInfo) => void; reject: (error: OiafedError) => void } | undefined;
  #looping = false;
  #secret: string | undefined;

  constructor(options: UplinkOptions) {
    this.#o = options;
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

  /** Connects and registers; resolves on the first registration, rejects if refused or out of attempts. */
  start(): Promise<PeerInfo> {
    if (this.#status !== 'idle') throw new OiafedError('INVALID_CONFIG', `uplink already ${this.#status}`);
    const first = new Promise<PeerInfo>((resolve, reject) => (this.#first = { resolve, reject }));
    void this.#loop();
    return first;
  }

  /** Stops reconnecting and leaves: says goodbye on the current link, if any. */
  close(reason = 'left'): void {
    if (this.#status === 'closed') return;
    this.#stop.abort(reason);
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
        this.#set(failures === 0 && this.#peer === undefined ? 'connecting' : 'reconnecting', {
          attempt: failures,
        });
        try {
          const link = await this.#o.connect();
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
          if (this.#stop.signal.aborted) {
            link.close('uplink closed');
            return;
          }
          this.#peer = await this.#o.node.connect(
            link,
            this.#secret === undefined ? this.#o.join : { ...this.#o.join, resume: this.#secret },
          );
          if (this.#peer.resume !== undefined) {
            this.#secret = this.#peer.resume;
            this.#o.resumeStore?.save(this.#secret);
          }
          this.#set('registered', { peer: this.#peer.id });
          this.#first?.resolve(this.#peer);
          this.#first = undefined;
          return;
        } catch (caught) {
          // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- close() may run during the await
          if (this.#stop.signal.aborted) return;
          const error = asOiafedError(caught, 'connecting');
          failures += 1;
          if (!isRetriable(error) || failures >= this.#policy.maxAttempts) {
            this.#fail(error);
            return;
          }
          const wait = retryDelay(this.#policy, failures);
          this.#set('reconnecting', { attempt: failures, delay: wait, error });
          await delay(wait, this.#stop.signal).catch(() => undefined);
        }
      }
    } finally {
      this.#looping = false;
    }
  }

  #fail(error: OiafedError): void {
    this.#set('failed', { error, reason: error.message });
    this.#first?.reject(error);
    this.#first = undefined;
  }

  #set(status: UplinkStatus, detail: UplinkStatusDetail): void {
    this.#status = status;
    this.events.emit('status', status, detail);
  }
}
