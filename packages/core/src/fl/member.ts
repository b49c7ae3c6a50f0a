import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import type { HeartbeatOptions } from '../membership/heartbeat.js';
import type { Link } from '../links/link.js';
import { Node, exposedMethods } from '../rpc/node.js';
import type { RetryPolicy } from '../rpc/retry.js';
import type { Clock } from '../wire/clock.js';
import { LEARNER_REQUEST_TIMEOUT } from '../rpc/request-timeout.js';
import { Uplink, type ResumeStore, type UplinkStatusDetail } from '../connect/uplink.js';
import { rehoming } from '../connect/rehoming.js';
import { connectPeer } from '../links/data-channel.js';
import type { FramedLinkOptions } from '../links/framed-link.js';
import { randomNodeId } from '../wire/node-id.js';
import {
  openPeer,
  reachSignalling,
  type OpenPeer,
  type PeerConstructor,
  type PeerOptions,
} from '../links/peer.js';
import { OiafedError } from '../wire/errors.js';
import {
  connectWebSocket,
  type ConnectWebSocketOptions,
  type WebSocketConstructor,
} from '../links/web-socket.js';
import type { EvaluateParams, Learner, TrainParams } from './learner.js';
import { readRunEndNotice, RUN_END_EVENT, type RunEndReason } from './run-end.js';
import { serveLearner } from './serve-learner.js';

/**
 * Where a learner stands, as a page would show it. 'finished': the trainer said its run ended
 * (`reason` and `rounds` say how); 'failed': the uplink gave up (refused, or out of attempts);
 * 'closed': closed by its user.
 */
export type MemberState =
  | 'connecting'
  | 'registered'
  | 'training'
  | 'evaluating'
  | 'disconnected'
  | 'reconnecting'
  | 'failed'
  | 'closed'
  | 'finished';

export interface MemberStatus extends UplinkStatusDetail {
  state: MemberState;
  /** The round being trained or evaluated. */
  round?: number;
  /** finished: the last round the run finished. */
  rounds?: number;
}

/**
 * How a member's part in a federation ended. From the trainer's notice: its reason ('unknown' for
 * a word this version does not know) and the last round the run finished. Otherwise 'closed' (the
 * member was closed by its user first) or 'lost' (its uplink gave up: refused, or out of
 * attempts), with rounds 0.
 */
export interface FinishedNotice {
  reason: RunEndReason | 'unknown' | 'closed' | 'lost';
  rounds: number;
}

export interface MemberEvents {
  status: [status: MemberStatus];
}

export interface MemberOptions {
  learner: Learner | object;
  /** Makes a fresh link to the trainer (each reconnection calls it again). */
  connect: () => Promise<Link>;
  /** Default: generated. Keep it stable across page loads to be the same client after a reload. */
  id?: NodeId;
  token?: string;
  capabilities?: string[];
  metadata?: Record<string, unknown>;
  retry?: Partial<RetryPolicy>;
  heartbeat?: Partial<HeartbeatOptions> | false;
  /** Per-call timeout for calls this learner makes; default none (LEARNER_REQUEST_TIMEOUT). */
  timeout?: number;
  /** Frees what `connect` holds (a PeerJS peer), once the member closes. */
  release?: () => void;
  /**
   * Keeps the resume secret the trainer gives at each welcome; a later link that presents it may
   * take over this id while the trainer still holds the old link. `@oiafed/browser` keeps it in
   * `sessionStorage` (per tab and id), so a reloaded page rejoins at once under its id.
   */
  resumeStore?: ResumeStore;
  /**
   * ms the first join may take, all attempts together (default DEFAULT_JOIN_TIMEOUT, 30 s;
   * Infinity: no limit): after it the join rejects with a ConnectError naming the last attempt's
   * cause, and the status is 'failed'.
   */
  joinTimeout?: number;
  /**
   * Called with every status from the first ('connecting', before any attempt ends) to the last:
   * what `member.events.on('status')` reports once the join has resolved, and before it.
   */
  onStatus?: (status: MemberStatus) => void;
  /** Where the join's deadline, the waits between attempts and the node's timers are timed. */
  clock?: Clock;
}

/**
 * A learner taking part in a federation: its node, the learner served on it, and the uplink that
 * keeps it registered with the trainer, with status events for a page to show.
 */
export class FederationMember {
  readonly node: Node;
  readonly events = new EventEmitter<MemberEvents>();
  readonly uplink: Uplink;
  /**
   * Settles once the member's part ends: when the trainer says its run ended (the member is then
   * closed, status 'finished'), when it is closed, or when its uplink gives up. Never rejects.
   */
  readonly finished: Promise<FinishedNotice>;
  readonly #release: (() => void) | undefined;
  #status: MemberStatus = { state: 'connecting' };
  /** How the member left, once it has: closed by its user, or finished by the trainer's notice. */
  #left: 'closed' | 'finished' | undefined;
  #settle!: (notice: FinishedNotice) => void;

  private constructor(options: MemberOptions) {
    this.node = new Node({
      role: 'learner',
      timeout: options.timeout ?? LEARNER_REQUEST_TIMEOUT,
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.heartbeat === undefined ? {} : { heartbeat: options.heartbeat }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    if (options.onStatus) this.events.on('status', options.onStatus);
    this.#release = options.release;
    serveLearner(this.node, this.#reporting(options.learner));
    this.uplink = new Uplink({
      node: this.node,
      connect: options.connect,
      join: {
        capabilities: options.capabilities ?? ['train', 'evaluate'],
        metadata: options.metadata ?? {},
        ...(options.token === undefined ? {} : { token: options.token }),
      },
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.resumeStore === undefined ? {} : { resumeStore: options.resumeStore }),
      ...(options.joinTimeout === undefined ? {} : { joinTimeout: options.joinTimeout }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    });
    this.finished = new Promise((resolve) => (this.#settle = resolve));
    this.uplink.events.on('status', (state, detail) => {
      // Once finished, the uplink closing is part of it, not news.
      if (this.#left === 'finished') return;
      if (state === 'failed') this.#settle({ reason: 'lost', rounds: 0 });
      this.#set({ ...detail, state: state === 'idle' ? 'connecting' : state });
    });
    this.node.on(RUN_END_EVENT, (payload, from) => {
      // Only the trainer ends the run: anyone else (another learner, through a relay) is ignored.
      if (from !== this.uplink.peer?.id || this.#left) return;
      const notice = readRunEndNotice(payload);
      // After the acknowledgement has gone out, and outside the frame's handling.
      queueMicrotask(() => this.#finish(notice));
    });
  }

  /**
   * Joins and resolves once registered; rejects with a ConnectError if refused (wrong token, an
   * HTTP 403...), out of attempts (`retry.maxAttempts`) or out of time (`joinTimeout`). Statuses
   * before that reach `options.onStatus`.
   */
  static async join(options: MemberOptions): Promise<FederationMember> {
    const member = new FederationMember(options);
    try {
      await member.uplink.start();
    } catch (error) {
      member.close();
      throw error;
    }
    return member;
  }

  get id(): NodeId {
    return this.node.id;
  }

  get status(): MemberStatus {
    return this.#status;
  }

  /** Leaves the federation for good: no more reconnection. `finished` settles with reason 'closed'. */
  close(): void {
    if (this.#left) return;
    this.#left = 'closed';
    this.#settle({ reason: 'closed', rounds: 0 });
    this.#leave('left');
  }

  /** The trainer said the run ended: leave for good, and say so. */
  #finish(notice: FinishedNotice): void {
    if (this.#left) return;
    this.#left = 'finished';
    this.#leave(`run ${notice.reason}`);
    this.#set({ state: 'finished', reason: notice.reason, rounds: notice.rounds });
    this.#settle(notice);
  }

  #leave(reason: string): void {
    this.uplink.close(reason);
    this.node.close(reason);
    this.#release?.();
  }

  #set(status: MemberStatus): void {
    this.#status = status;
    this.events.emit('status', status);
  }

  /** The learner's methods, with train and evaluate reporting their round as they run. */
  #reporting(learner: object): object {
    const target = learner as Record<string, (...args: unknown[]) => unknown>;
    const served: Record<string, (...args: unknown[]) => unknown> = {};
    for (const name of exposedMethods(learner)) served[name] = (...args) => target[name]!(...args);
    const around = (name: 'train' | 'evaluate', state: 'training' | 'evaluating') => {
      const inner = served[name];
      if (!inner) return;
      served[name] = async (params) => {
        this.#set({ state, round: (params as TrainParams | EvaluateParams).round });
        try {
          return await inner(params);
        } finally {
          if (this.#status.state === state) this.#set({ state: 'registered' });
        }
      };
    };
    around('train', 'training');
    around('evaluate', 'evaluating');
    return served;
  }
}

export interface JoinFederationOptions extends Omit<MemberOptions, 'connect'> {
  /**
   * The trainer's WebSocket URL, e.g. ws://localhost:8787; or a list (an aggregator and its
   * siblings): the first is its home, and each later attempt, after a failed one or a lost link,
   * goes to the next in turn, so a learner whose aggregator is gone re-homes to another.
   */
  url: string | readonly string[];
  /** Link options (chunk size, connect timeout). */
  link?: Omit<ConnectWebSocketOptions, 'WebSocket'>;
}

/** Joins the trainer at `options.url` over WebSocket with the platform's WebSocket class. */
export function joinOverWebSocket(
  WebSocket: WebSocketConstructor,
  options: JoinFederationOptions,
): Promise<FederationMember> {
  const { url, link, ...member } = options;
  const urls = typeof url === 'string' ? [url] : url;
  const connect = rehoming(urls.map((to) => () => connectWebSocket(to, { ...link, WebSocket })));
  return FederationMember.join({ ...member, connect });
}

export interface JoinOverWebRtcOptions extends Omit<MemberOptions, 'connect' | 'release'>, PeerOptions {
  /** The trainer's peer id (its node id) at the signalling server. */
  trainer: NodeId;
  /** Link options (chunk size) and how long to wait for a data channel to open (ms, default 15 s). */
  link?: FramedLinkOptions & { timeout?: number };
}

/**
 * Joins the trainer peer `options.trainer` over a WebRTC data channel, introduced by the PeerJS
 * signalling server; the learner's peer id is its node id. The first attempt registers the peer
 * with the signalling server (so a server that cannot be reached is reported like any failed
 * attempt, from status 'connecting'); a reconnection registers it again if it was lost, and
 * opens a new data channel.
 */
export async function joinOverWebRtc(
  Peer: PeerConstructor,
  options: JoinOverWebRtcOptions,
): Promise<FederationMember> {
  const { trainer, link, signalling, iceServers, signallingTimeout, ...member } = options;
  const id = member.id ?? randomNodeId('learner');
  const peerOptions: PeerOptions = {
    signalling,
    ...(iceServers ? { iceServers } : {}),
    ...(signallingTimeout === undefined ? {} : { signallingTimeout }),
  };
  let peer: OpenPeer | undefined;
  let released = false;
  return FederationMember.join({
    ...member,
    id,
    connect: async () => {
      if (peer) await reachSignalling(peer, signallingTimeout);
      else {
        // openPeer destroys a peer that did not open: the next attempt starts a fresh one.
        const opened = await openPeer(Peer, id, peerOptions);
        if (released) {
          opened.destroy();
          throw new OiafedError('CLOSED', `peer ${id}: the member closed while it registered`);
        }
        peer = opened;
      }
      return connectPeer(peer, trainer, link);
    },
    release: () => {
      released = true;
      peer?.destroy();
    },
  });
}
