import { EventEmitter } from 'eventemitter3';
import { enterCall, leaveCall, RunningCall } from './call-context.js';
import {
  BROADCAST,
  PROTOCOL_VERSION,
  type AckFrame,
  type CallFrame,
  type CancelFrame,
  type Envelope,
  type ErrorFrame,
  type EventFrame,
  type HelloFrame,
  type NodeId,
  type WelcomeFrame,
  unrouted,
} from '../wire/envelope.js';
import { fromWireError, OiafedError, protocolError, toWireError, type WireError } from '../wire/errors.js';
import { DEFAULT_HEARTBEAT, Heartbeat, type HeartbeatOptions } from '../membership/heartbeat.js';
import { intercept, type DataFrame, type Interceptor } from './interceptors.js';
import type { Link, Transferable } from '../links/link.js';
import { assertNodeId, randomNodeId } from '../wire/node-id.js';
import { PendingTable, type Pending } from './pending.js';
import { createProxy, type CallOptions, type EventMap, type RemoteProxy } from './proxy.js';
import { ProxyCollection } from './proxy-collection.js';
import { Registry, judgeHello, type Authenticate, type ClientInfo, type Credentials } from '../membership/registry.js';
import { relayAllowed, type RelayKind, type RelayPolicy } from '../membership/relay-policy.js';
import { ResumeSecrets } from '../membership/resume-secrets.js';
import { boundedText } from '../wire/bounded-text.js';
import { MAX_CAPABILITIES, MAX_CAPABILITY_LENGTH, MAX_NAME_LENGTH, MAX_REASON_LENGTH, MAX_ROLE_LENGTH } from '../wire/frame-limits.js';
import { abortError, resolveRetry, withRetry } from './retry.js';
import { DEFAULT_REQUEST_TIMEOUT } from './request-timeout.js';
import { Router } from '../membership/router.js';
import { transfersOf } from './transfer.js';

export interface NodeOptions {
  /** Unique among the nodes of a federation; generated when omitted. */
  id?: NodeId;
  /** What the node is, e.g. 'trainer' or 'learner'. */
  role?: string;
  /** Default per-call timeout, ms (0: none). Default 30 s. */
  timeout?: number;
  /** How long a joining link may take to say hello / be welcomed, ms. Default 10 s. */
  connectTimeout?: number;
  /** Ping/pong liveness on every link; `false` turns it off. Default 30 s / 90 s. */
  heartbeat?: Partial<HeartbeatOptions> | false;
  interceptors?: readonly Interceptor[];
  /** Who may join this node: a shared token, or a check of the whole hello. Default: anyone. */
  authenticate?: Authenticate;
  /**
   * Per-client credentials: id to secret (or a lookup). A hello must then carry its own id's secret
   * as its token, and a client that does may take over its id from a link still registered under it.
   */
  credentials?: Credentials;
  /** Send handler stacks with remote errors (development only). */
  exposeStack?: boolean;
  /**
   * Which frames this node forwards between the nodes linked to it. Default 'none': a star in
   * which each learner reaches only this node (learners are untrusted).
   */
  relay?: RelayPolicy;
}

export interface JoinOptions {
  token?: string;
  capabilities?: string[];
  metadata?: Record<string, unknown>;
  /** ms to wait for the welcome; default the node's connectTimeout. */
  timeout?: number;
  /** Send frames for nodes without a direct route through this link. Default true. */
  upstream?: boolean;
  /** The resume secret of this id's previous welcome: proves this link is the same client (a reconnect). */
  resume?: string;
}

export interface PeerInfo {
  id: NodeId;
  role: string;
  /** The secret to present (`JoinOptions.resume`) when joining this node again under the same id. */
  resume?: string;
}

/** Frames a node refused or ignored, by kind: what a hostile peer tried. */
export interface NodeStats {
  /** Results, errors and acks that answered no request of ours to their sender (or of a relayed one). */
  strayAnswers: number;
  /** Frames for other nodes that the relay policy did not let through. */
  refusedRelays: number;
}

/** Local notifications a node gives about its links and peers. */
export interface NodeEvents {
  CLIENT_REGISTERED: [client: ClientInfo];
  /** The client said goodbye. */
  CLIENT_UNREGISTERED: [client: ClientInfo];
  /** The client's link dropped or its heartbeat timed out (`client.state` tells which). */
  CLIENT_DISCONNECTED: [client: ClientInfo];
  /** Any established link closed, either side. */
  PEER_DISCONNECTED: [peer: NodeId, reason: string];
  /** A one-way event this node sent found no handler, or its handler threw. */
  EVENT_FAILED: [error: OiafedError, event: { target: NodeId; name: string }];
  /** A link sent something unreadable or out of protocol, and was closed. */
  LINK_ERROR: [error: OiafedError, peer: NodeId | undefined];
}

export type EventHandler<P = unknown> = (payload: P, from: NodeId) => void | Promise<void>;

type Phase = 'pending' | 'authenticating' | 'joining' | 'open' | 'closed';

interface Handshake {
  welcome(frame: WelcomeFrame): void;
  refused(error: WireError): void;
  closed(reason: string): void;
}

/** Everything a node knows about one of its links. */
class LinkState {
  lastSeen = 0;
  heard = false;
  rtt: number | undefined;
  peer: NodeId | undefined;
  phase: Phase;
  /** The peer joined us: we are its hub, and it may only speak for itself. */
  accepted = false;
  timedOut = false;
  /** The peer's role, from its hello or welcome. */
  role = '';
  handshake: Handshake | undefined;
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  /** Calls made to us over this link, so they can be cancelled: by id when the peer made them, else by caller and id. */
  readonly running = new Map<number | string, RunningCall>();
  /** Calls relayed out over this link, by caller and id, with the link to answer on if it drops. */
  readonly relayed = new Map<string, LinkState>();
  /** Keeps frames in order while an interceptor is busy. */
  inTail: Promise<void> | undefined;
  outTail: Promise<void> | undefined;

  constructor(
    readonly link: Link,
    phase: Phase,
  ) {
    this.phase = phase;
  }
}

const key = (src: NodeId, id: number) => `${src}\u0000${id}`;
/** The running-call key: the bare id for the link's own peer (the common case), else caller and id. */
const runningKey = (state: LinkState, src: NodeId, id: number) => (src === state.peer ? id : key(src, id));
const ensureError = (e: unknown): OiafedError =>
  e instanceof OiafedError ? e : new OiafedError('NOT_SERIALIZABLE', e instanceof Error ? e.message : String(e), { cause: e });

/** Why a node may refuse a hello (judgeHello, the link's own limits): a refusal with another code is out of protocol. */
const HELLO_REFUSALS = new Set<string>(['UNAUTHORIZED', 'VERSION_MISMATCH', 'BAD_FRAME', 'ID_TAKEN', 'PAYLOAD_TOO_LARGE', 'OVERLOADED', 'INTERNAL']);

/** The error a link is closed with when handling its frame threw: the peer's fault when typed, ours otherwise. */
const linkFailure = (e: unknown): OiafedError =>
  e instanceof OiafedError ? e : new OiafedError('INTERNAL', `handling a frame failed: ${boundedText(e instanceof Error ? e.message : e, 200)}`, { cause: e });

/**
 * An endpoint of a federation: it serves methods and events, calls and notifies other nodes, and
 * holds the links that reach them. One class for trainers and learners: a trainer accepts links
 * (`accept`), a learner joins one (`connect`).
 */
export class Node {
  readonly id: NodeId;
  readonly role: string;
  /** Local notifications: CLIENT_REGISTERED, CLIENT_DISCONNECTED, PEER_DISCONNECTED, ... */
  readonly events = new EventEmitter<NodeEvents>();
  /** The nodes that joined this one. */
  readonly registry = new Registry();
  /** Counts of what peers sent that was refused or ignored. */
  readonly stats: NodeStats = { strayAnswers: 0, refusedRelays: 0 };

  readonly #router: Router<LinkState>;
  readonly #states = new Map<Link, LinkState>();
  readonly #pending = new PendingTable();
  readonly #methods = new Map<string, (...args: unknown[]) => unknown>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  readonly #interceptors: readonly Interceptor[];
  readonly #heartbeat: Heartbeat<LinkState> | undefined;
  readonly #timeout: number;
  readonly #connectTimeout: number;
  readonly #authenticate: Authenticate | undefined;
  readonly #credentials: Credentials | undefined;
  readonly #secrets = new ResumeSecrets();
  readonly #exposeStack: boolean;
  readonly #relay: RelayPolicy;
  #closed = false;

  constructor(options: NodeOptions = {}) {
    this.id = options.id ?? randomNodeId(options.role);
    assertNodeId(this.id);
    this.role = options.role ?? 'node';
    this.#router = new Router(this.id);
    this.#timeout = options.timeout ?? DEFAULT_REQUEST_TIMEOUT;
    this.#connectTimeout = options.connectTimeout ?? 10_000;
    this.#interceptors = options.interceptors ?? [];
    this.#authenticate = options.authenticate;
    this.#credentials = options.credentials;
    this.#exposeStack = options.exposeStack ?? false;
    this.#relay = options.relay ?? 'none';
    if (options.heartbeat !== false) {
      this.#heartbeat = new Heartbeat<LinkState>(
        { ...DEFAULT_HEARTBEAT, ...options.heartbeat },
        {
          ping: (s, now) => this.#sendQuietly(s, { kind: 'ping', t: now }),
          dead: (s, silent) => {
            s.timedOut = true;
            this.#drop(s, `heartbeat timeout: silent for ${silent} ms`);
          },
        },
      );
    }
  }

  // ---- serving -------------------------------------------------------------------------------

  /**
   * Exposes the methods of `target`: its own and its class's, but never `constructor`, names
   * starting with `_`, or anything from Object.prototype. `methods` narrows that to a list.
   * Returns a function that withdraws them.
   */
  serve(target: object, options: { methods?: readonly string[] } = {}): () => void {
    const names = options.methods ?? exposedMethods(target);
    const added: string[] = [];
    for (const name of names) {
      const fn = (target as Record<string, unknown>)[name];
      if (name in Object.prototype || name === 'constructor' || name === 'prototype' || typeof fn !== 'function') {
        throw new OiafedError('INVALID_CONFIG', `cannot serve ${JSON.stringify(name)}: not an own method of the served object`);
      }
      this.#methods.set(name, (fn as (...args: unknown[]) => unknown).bind(target));
      added.push(name);
    }
    return () => added.forEach((name) => this.#methods.delete(name));
  }

  /** Exposes one function as a method. */
  handle(method: string, fn: (...args: never[]) => unknown): () => void {
    return this.serve({ [method]: fn }, { methods: [method] });
  }

  /** Handles an event sent by other nodes. Returns a function that removes the handler. */
  on<P = unknown>(name: string, handler: EventHandler<P>): () => void {
    let set = this.#handlers.get(name);
    if (!set) this.#handlers.set(name, (set = new Set()));
    set.add(handler as EventHandler);
    return () => {
      set.delete(handler as EventHandler);
      if (set.size === 0 && this.#handlers.get(name) === set) this.#handlers.delete(name);
    };
  }

  // ---- calling -------------------------------------------------------------------------------

  /** A typed handle on node `id`: `await node.proxy<Learner>('l1').train(p)`. */
  proxy<T, E extends EventMap = EventMap>(id: NodeId, options?: CallOptions): RemoteProxy<T, E> {
    return createProxy<T, E>(this, id, options);
  }

  /** Handles on several nodes at once, for broadcast and per-node collection. */
  proxies<T, E extends EventMap = EventMap>(ids: readonly NodeId[], options?: CallOptions): ProxyCollection<T, E> {
    return new ProxyCollection<T, E>(this, ids, options);
  }

  call(dst: NodeId, method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    if (method.length > MAX_NAME_LENGTH) return Promise.reject(nameTooLong('method', method));
    const policy = options.retry ? resolveRetry(options.retry) : undefined;
    const frame = (id: number): CallFrame => ({ kind: 'call', id, src: this.id, dst, method, args });
    if (policy) return withRetry(policy, () => this.#request(dst, options, frame, args), options.signal);
    return this.#request(dst, options, frame, args);
  }

  /** One-way event to a node, or to every reachable node with BROADCAST ('*'). */
  emit(dst: NodeId, name: string, payload: unknown): void {
    if (this.#closed) throw new OiafedError('CLOSED', `node ${this.id} is closed`);
    if (name.length > MAX_NAME_LENGTH) throw nameTooLong('event', name);
    const frame: EventFrame = { kind: 'event', id: 0, src: this.id, dst, name, payload };
    if (dst === BROADCAST) {
      for (const state of this.#states.values()) if (state.phase === 'open') this.#transmitEvent(state, frame);
      return;
    }
    this.#transmitEvent(this.#route(dst), frame);
  }

  /** An event that resolves when the receiver's handlers have run; rejects if none exist or one threw. */
  emitWithAck(dst: NodeId, name: string, payload: unknown, options: CallOptions = {}): Promise<void> {
    if (dst === BROADCAST) return Promise.reject(new OiafedError('UNKNOWN_TARGET', 'acknowledged events go to one node; use proxies(ids).emitWithAck'));
    if (name.length > MAX_NAME_LENGTH) return Promise.reject(nameTooLong('event', name));
    return this.#request(dst, options, (id): EventFrame => ({ kind: 'event', id, src: this.id, dst, name, payload }), [payload]) as Promise<void>;
  }

  /** Sends the frame `build` makes under a fresh id (a new one each time, so a retry never reuses a sent frame). */
  #request(dst: NodeId, options: CallOptions, build: (id: number) => CallFrame | EventFrame, values: unknown[]): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new OiafedError('CLOSED', `node ${this.id} is closed`));
      const signal = options.signal;
      if (signal?.aborted) return reject(abortError(signal));
      let state: LinkState;
      try {
        state = this.#route(dst);
      } catch (error) {
        return reject(error);
      }
      const id = this.#pending.nextId();
      const frame = build(id);
      const timeout = options.timeout ?? this.#timeout;
      const entry: Pending = { dst, link: state.link, resolve, reject, deadline: timeout > 0 ? Date.now() + timeout : 0 };
      if (timeout > 0) {
        entry.expire = () => {
          const what = frame.kind === 'call' ? `call ${frame.method}` : `event ${frame.name}`;
          this.#giveUp(state, dst, id, new OiafedError('TIMEOUT', `${what} to ${dst} timed out after ${timeout} ms`));
        };
      }
      if (signal) {
        entry.signal = signal;
        entry.onAbort = () => this.#giveUp(state, dst, id, abortError(signal));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.#pending.add(id, entry);
      try {
        this.#transmit(state, frame, options.transfer ?? transfersOf(values))?.catch((error: unknown) => this.#pending.take(id)?.reject(ensureError(error)));
      } catch (error) {
        this.#pending.take(id)?.reject(ensureError(error));
      }
    });
  }

  /** Rejects a pending request locally and tells the remote to stop working on it. */
  #giveUp(state: LinkState, dst: NodeId, id: number, error: OiafedError): void {
    const entry = this.#pending.take(id);
    if (!entry) return;
    entry.reject(error);
    this.#sendQuietly(state, { kind: 'cancel', id, src: this.id, dst, reason: boundedText(error.message, MAX_REASON_LENGTH) });
  }

  // ---- links ---------------------------------------------------------------------------------

  /** Takes a link on which another node will say hello and join this one. */
  accept(link: Link): void {
    this.#assertOpen();
    const state = this.#attach(link, 'pending');
    state.helloTimer = setTimeout(() => {
      if (state.phase === 'pending') this.#drop(state, `no hello within ${this.#connectTimeout} ms`);
    }, this.#connectTimeout);
  }

  /** Joins the node at the other end of `link`; resolves with its id once it has welcomed us. */
  connect(link: Link, options: JoinOptions = {}): Promise<PeerInfo> {
    this.#assertOpen();
    assertHelloFits(this.role, options.capabilities ?? []);
    const state = this.#attach(link, 'joining');
    const hello: HelloFrame = {
      kind: 'hello',
      version: PROTOCOL_VERSION,
      src: this.id,
      role: this.role,
      capabilities: options.capabilities ?? [],
      metadata: options.metadata ?? {},
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.resume === undefined ? {} : { resume: options.resume }),
    };
    const timeout = options.timeout ?? this.#connectTimeout;
    return new Promise<PeerInfo>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        state.handshake = undefined;
      };
      const fail = (error: OiafedError) => {
        finish();
        reject(error);
        this.#drop(state, `${error.code}: ${boundedText(error.message, 512)}`);
      };
      const timer = setTimeout(() => fail(new OiafedError('TIMEOUT', `no welcome within ${timeout} ms`)), timeout);
      state.handshake = {
        welcome: (welcome) => {
          finish();
          if (welcome.version !== PROTOCOL_VERSION) {
            return fail(new OiafedError('VERSION_MISMATCH', `peer speaks protocol ${welcome.version}, this node ${PROTOCOL_VERSION}`));
          }
          state.peer = welcome.src;
          state.role = welcome.role;
          state.phase = 'open';
          state.link.established?.();
          this.#router.add(welcome.src, state);
          if (options.upstream ?? true) this.#router.upstream = state;
          this.#heartbeat?.watch(state);
          resolve({ id: welcome.src, role: welcome.role, ...(welcome.resume === undefined ? {} : { resume: welcome.resume }) });
        },
        refused: (error) => {
          const refusal = fromWireError('?', error);
          // A node refuses a hello only for what the protocol names; anything else is out of protocol.
          fail(HELLO_REFUSALS.has(refusal.code) ? refusal : new OiafedError('BAD_FRAME', `the join was refused out of protocol: ${boundedText(refusal.message, 200)}`));
        },
        closed: (reason) => {
          finish();
          reject(new OiafedError('DISCONNECTED', `link closed during the handshake: ${reason}`));
        },
      };
      try {
        link.send(hello);
      } catch (error) {
        fail(ensureError(error));
      }
    });
  }

  /** Says goodbye to a directly linked node and closes the link to it (the node itself stays open). */
  disconnect(peer: NodeId, reason = 'disconnected'): void {
    const state = this.#router.direct(peer);
    if (!state) return;
    this.#sendQuietly(state, { kind: 'bye', src: this.id, reason: boundedText(reason, MAX_REASON_LENGTH) });
    this.#drop(state, reason);
  }

  /** Ids of the nodes linked directly to this one. */
  peers(): NodeId[] {
    return this.#router.peers();
  }

  /** Last measured ping round trip to a directly linked node, ms. */
  rtt(peer: NodeId): number | undefined {
    return this.#router.direct(peer)?.rtt;
  }

  /** Says goodbye on every link, closes them, and rejects whatever is still pending with CLOSED. */
  close(reason = 'node closed'): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const state of [...this.#states.values()]) {
      if (state.phase === 'open') this.#sendQuietly(state, { kind: 'bye', src: this.id, reason: boundedText(reason, MAX_REASON_LENGTH) });
      this.#drop(state, reason);
    }
    this.#pending.rejectAll(() => new OiafedError('CLOSED', `node ${this.id} closed`));
    this.#heartbeat?.stop();
  }

  get closed(): boolean {
    return this.#closed;
  }

  #assertOpen(): void {
    if (this.#closed) throw new OiafedError('CLOSED', `node ${this.id} is closed`);
  }

  #attach(link: Link, phase: Phase): LinkState {
    const state = new LinkState(link, phase);
    this.#states.set(link, state);
    link.listen({
      frame: (frame) => this.#onFrame(state, frame),
      close: (reason) => this.#onClose(state, reason),
      error: (error) => this.#onLinkError(state, error),
      heard: () => void (state.heard = true),
    });
    return state;
  }

  #route(dst: NodeId): LinkState {
    const state = this.#router.linkFor(dst);
    if (state.phase !== 'open') throw new OiafedError('NOT_CONNECTED', `link to ${dst} is not open`);
    return state;
  }

  /** Closes the link now and settles everything that depended on it, without waiting for its close event. */
  #drop(state: LinkState, reason: string): void {
    state.link.close(reason);
    this.#onClose(state, reason);
  }

  #onClose(state: LinkState, reason: string): void {
    if (state.phase === 'closed') return;
    const wasOpen = state.phase === 'open';
    state.phase = 'closed';
    this.#states.delete(state.link);
    clearTimeout(state.helloTimer);
    this.#heartbeat?.unwatch(state);
    state.handshake?.closed(reason);
    for (const call of state.running.values()) call.cancel(`caller disconnected: ${reason}`);
    state.running.clear();
    const peer = state.peer ?? 'peer';
    this.#pending.rejectLink(state.link, () => new OiafedError('DISCONNECTED', `${peer} disconnected: ${reason}`));
    for (const [k, back] of state.relayed) {
      const [src, id] = k.split('\u0000') as [string, string];
      this.#answerError(back, Number(id), src, protocolError('DISCONNECTED', `${peer} disconnected: ${reason}`));
    }
    state.relayed.clear();
    if (!wasOpen || state.peer === undefined) return;
    if (this.#router.remove(state.peer, state) && state.accepted) {
      this.#secrets.forget(state.peer);
      const client = this.registry.depart(state.peer, state.timedOut ? 'timeout' : 'disconnected', reason);
      if (client) this.events.emit('CLIENT_DISCONNECTED', client);
    }
    this.events.emit('PEER_DISCONNECTED', state.peer, reason);
  }

  /** Tells the peer why, closes its link, and reports it: whatever a listener of LINK_ERROR does. */
  #onLinkError(state: LinkState, error: OiafedError): void {
    if (state.phase === 'closed') return;
    const message = boundedText(error.message, 512);
    this.#sendQuietly(state, { kind: 'error', id: 0, src: this.id, dst: state.peer ?? '', error: protocolError(error.code, message) });
    this.#drop(state, `${error.code}: ${message}`);
    try {
      this.events.emit('LINK_ERROR', error, state.peer);
    } catch (thrown) {
      console.error(`[oiafed] a LINK_ERROR listener threw: ${boundedText(thrown instanceof Error ? thrown.message : thrown)}`);
    }
  }

  /** Runs what one frame asks for; if that throws, the frame's link is closed and the node goes on. */
  #guard(state: LinkState, handle: () => void): void {
    try {
      handle();
    } catch (error) {
      this.#onLinkError(state, linkFailure(error));
    }
  }

  // ---- receiving -----------------------------------------------------------------------------

  #onFrame(state: LinkState, frame: Envelope): void {
    if (state.phase === 'closed') return;
    state.heard = true;
    this.#guard(state, () => this.#receive(state, frame));
  }

  #receive(state: LinkState, frame: Envelope): void {
    switch (frame.kind) {
      case 'ping':
        return this.#sendQuietly(state, { kind: 'pong', t: frame.t });
      case 'pong':
        state.rtt = Date.now() - frame.t;
        return;
      case 'hello':
        return void this.#onHello(state, frame).catch((error: unknown) => this.#onLinkError(state, linkFailure(error)));
      case 'welcome':
        if (state.handshake) return state.handshake.welcome(frame);
        return this.#onLinkError(state, new OiafedError('BAD_FRAME', 'unexpected welcome'));
      case 'bye':
        return this.#onBye(state, boundedText(frame.reason ?? 'bye', 256));
      case 'chunk':
      case 'attached':
      case 'limits':
        return this.#onLinkError(state, new OiafedError('BAD_FRAME', `${frame.kind} frame reached the node: this link does not reassemble them`));
    }
    if (frame.src === undefined) {
      // Left out on the wire: the link's own two ends (see Routed).
      frame.src = state.peer!;
      frame.dst = this.id;
    }
    if (state.phase !== 'open') {
      if (frame.kind === 'error' && state.handshake) return state.handshake.refused(frame.error);
      return this.#onLinkError(state, new OiafedError('BAD_FRAME', `${frame.kind} frame before the handshake completed`));
    }
    if (state.accepted && frame.src !== state.peer) {
      return this.#onLinkError(state, new OiafedError('BAD_FRAME', `${state.peer} sent a frame claiming to be from ${JSON.stringify(frame.src)}`));
    }
    if (frame.dst !== this.id) {
      if (frame.dst !== BROADCAST || frame.kind !== 'event') return this.#relayFrame(state, frame);
      this.#fanOut(state, frame);
    }
    if (frame.kind === 'cancel') return state.running.get(runningKey(state, frame.src, frame.id))?.cancel(boundedText(frame.reason ?? 'cancelled by caller', 256));
    if (frame.kind === 'ack') return this.#settle(state, frame.src, frame.id, undefined);
    if (this.#interceptors.length === 0 && state.inTail === undefined) return this.#dispatch(state, frame);
    this.#interceptInbound(state, frame);
  }

  #interceptInbound(state: LinkState, frame: DataFrame): void {
    const run = (): void | Promise<void> => {
      try {
        const out = intercept(this.#interceptors, 'inbound', frame);
        if (!(out instanceof Promise)) return this.#dispatch(state, out);
        return out.then(
          (f) => this.#guard(state, () => this.#dispatch(state, f)),
          (e) => this.#guard(state, () => this.#refuse(state, frame, ensureError(e))),
        );
      } catch (error) {
        this.#refuse(state, frame, ensureError(error));
      }
    };
    if (state.inTail) state.inTail = chain(state.inTail, run, (t) => state.inTail === t && (state.inTail = undefined));
    else {
      const out = run();
      if (out) state.inTail = chain(out, () => undefined, (t) => state.inTail === t && (state.inTail = undefined));
    }
  }

  #dispatch(state: LinkState, frame: DataFrame): void {
    switch (frame.kind) {
      case 'call':
        return this.#answerCall(state, frame);
      case 'result':
        return this.#settle(state, frame.src, frame.id, frame.value);
      case 'error':
        return this.#onErrorFrame(state, frame);
      case 'event':
        return this.#onEvent(state, frame);
    }
  }

  #settle(state: LinkState, src: NodeId, id: number, value: unknown): void {
    this.#answered(state, src, id)?.resolve(value);
  }

  /**
   * The request an answer settles, taken out of the table; undefined (and counted) when it answers
   * nothing of ours: ids are guessable, so an answer counts only on the link the request went out
   * on, from the node asked or the relay it went through (which answers for a target it cannot reach).
   */
  #answered(state: LinkState, src: NodeId, id: number): Pending | undefined {
    const entry = this.#pending.get(id);
    if (!entry || entry.link !== state.link || (src !== entry.dst && src !== state.peer)) {
      this.stats.strayAnswers += 1;
      return undefined;
    }
    return this.#pending.take(id);
  }

  #onErrorFrame(state: LinkState, frame: ErrorFrame): void {
    if (frame.id !== 0) return this.#answered(state, frame.src, frame.id)?.reject(fromWireError(frame.src, frame.error));
    const error = fromWireError(frame.src, frame.error);
    if (frame.event === undefined) this.events.emit('LINK_ERROR', error, frame.src);
    else if (this.events.listenerCount('EVENT_FAILED') > 0) this.events.emit('EVENT_FAILED', error, { target: frame.src, name: frame.event });
    else console.warn(`[oiafed] event ${boundedText(frame.event, 256)} to ${frame.src} failed: ${boundedText(error.message)}`);
  }

  #answerCall(state: LinkState, frame: CallFrame): void {
    const fn = this.#methods.get(frame.method);
    if (!fn) {
      const hint = this.#handlers.has(frame.method) ? `; it is an event here: emit it instead` : '';
      return this.#answerError(state, frame.id, frame.src, protocolError('METHOD_NOT_FOUND', `node ${this.id} has no method ${JSON.stringify(frame.method)}${hint}`));
    }
    const call = new RunningCall(frame.src, frame.meta);
    let out: unknown;
    const previous = enterCall(call);
    try {
      out = fn(...frame.args);
    } catch (error) {
      return this.#answerError(state, frame.id, frame.src, toWireError(error, this.#exposeStack));
    } finally {
      leaveCall(previous);
    }
    if (out instanceof Promise || (typeof out === 'object' && out !== null && typeof (out as PromiseLike<unknown>).then === 'function')) {
      // Only a call still running can be cancelled: a synchronous one is answered before any cancel is read.
      const k = runningKey(state, frame.src, frame.id);
      state.running.set(k, call);
      (out as PromiseLike<unknown>).then(
        (value) => {
          state.running.delete(k);
          this.#finishCall(state, frame, call, value);
        },
        (error: unknown) => {
          state.running.delete(k);
          if (!call.cancelled) this.#answerError(state, frame.id, frame.src, toWireError(error, this.#exposeStack));
        },
      );
    } else {
      this.#finishCall(state, frame, call, out);
    }
  }

  #finishCall(state: LinkState, frame: CallFrame, call: RunningCall, value: unknown): void {
    if (call.cancelled || state.phase === 'closed') return;
    const answer = { kind: 'result', id: frame.id, src: this.id, dst: frame.src, value } as const;
    try {
      this.#transmit(state, answer, typeof value === 'object' && value !== null ? transfersOf([value]) : undefined)?.catch((e: unknown) => this.#answerError(state, frame.id, frame.src, toWireError(e, false)));
    } catch (error) {
      // The result could not be sent (too large, not serializable): the caller must still hear.
      this.#answerError(state, frame.id, frame.src, toWireError(error, false));
    }
  }

  #onEvent(state: LinkState, frame: EventFrame): void {
    const handlers = this.#handlers.get(frame.name);
    if (!handlers) {
      if (frame.dst === BROADCAST) return;
      const hint = this.#methods.has(frame.name) ? `; it is a method here: call it instead` : '';
      return this.#answerEvent(state, frame, protocolError('NO_HANDLER', `node ${this.id} has no handler for event ${JSON.stringify(frame.name)}${hint}`));
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
      if (error !== undefined) this.#answerEvent(state, frame, toWireError(error, this.#exposeStack));
      else if (frame.id !== 0) this.#sendQuietly(state, { kind: 'ack', id: frame.id, src: this.id, dst: frame.src });
    };
    if (!waits || failure !== undefined) return done(failure);
    Promise.all(waits).then(
      () => done(undefined),
      (error: unknown) => done(error ?? new Error('event handler rejected')),
    );
  }

  #answerEvent(state: LinkState, frame: EventFrame, error: WireError): void {
    if (frame.dst === BROADCAST) return;
    if (frame.id !== 0) return this.#answerError(state, frame.id, frame.src, error);
    this.#sendQuietly(state, { kind: 'error', id: 0, src: this.id, dst: frame.src, error, event: frame.name });
  }

  #answerError(state: LinkState, id: number, dst: NodeId, error: WireError): void {
    this.#sendQuietly(state, { kind: 'error', id, src: this.id, dst, error });
  }

  /** An inbound frame an interceptor refused: answer requests, fail our own pending ones. */
  #refuse(state: LinkState, frame: DataFrame, error: OiafedError): void {
    const wire = protocolError(error.code, error.message);
    if (frame.kind === 'call') this.#answerError(state, frame.id, frame.src, wire);
    else if (frame.kind === 'event') this.#answerEvent(state, frame, wire);
    else this.#answered(state, frame.src, frame.id)?.reject(error);
  }

  async #onHello(state: LinkState, hello: HelloFrame): Promise<void> {
    if (state.phase !== 'pending') {
      return this.#onLinkError(state, new OiafedError('BAD_FRAME', `unexpected hello from ${hello.src}`));
    }
    state.phase = 'authenticating';
    clearTimeout(state.helloTimer);
    const verdict = await judgeHello(hello, this.id, this.#authenticate, this.#credentials);
    if (state.phase !== 'authenticating') return;
    const previous = this.#router.direct(hello.src);
    // A connected id is taken over only by the same client (its resume secret or own credential);
    // anyone else is the one refused, so knowing a learner's id is not enough to throw it out.
    const refusal =
      verdict.refusal ??
      (previous && !verdict.identified && !this.#secrets.holds(hello.src, hello.resume)
        ? protocolError('ID_TAKEN', `node id ${hello.src} is connected; only the same client (its resume secret or own credential) may take it over`)
        : undefined);
    if (refusal) {
      this.#sendQuietly(state, { kind: 'error', id: 0, src: this.id, dst: hello.src, error: refusal });
      return this.#drop(state, `${refusal.code ?? 'UNAUTHORIZED'}: ${refusal.message}`);
    }
    state.peer = hello.src;
    state.role = hello.role;
    state.accepted = true;
    state.phase = 'open';
    state.link.established?.();
    this.#router.add(hello.src, state);
    if (previous) this.#drop(previous, `replaced by a new registration of ${hello.src}`);
    this.#heartbeat?.watch(state);
    const resume = this.#secrets.issue(hello.src);
    this.#sendQuietly(state, { kind: 'welcome', version: PROTOCOL_VERSION, src: this.id, dst: hello.src, role: this.role, resume });
    this.events.emit('CLIENT_REGISTERED', this.registry.admit(hello));
  }

  #onBye(state: LinkState, reason: string): void {
    if (state.accepted && state.peer !== undefined && this.#router.direct(state.peer) === state) {
      const client = this.registry.depart(state.peer, 'unregistered', reason);
      if (client) this.events.emit('CLIENT_UNREGISTERED', client);
    }
    this.#drop(state, `bye: ${reason}`);
  }

  // ---- relaying ------------------------------------------------------------------------------

  /**
   * A frame for another node. Requests go where the relay policy allows; answers (result, error,
   * ack) only back along a request relayed here, from the node it went to, and cancels only after
   * their request: nothing else passes, so a peer cannot reach past this node or settle others' calls.
   */
  #relayFrame(from: LinkState, frame: DataFrame | CancelFrame | AckFrame): void {
    if (frame.kind === 'result' || frame.kind === 'ack' || (frame.kind === 'error' && frame.id !== 0)) {
      const k = key(frame.dst, frame.id);
      const back = from.relayed.get(k);
      if (!back) return void (this.stats.strayAnswers += 1);
      from.relayed.delete(k);
      return this.#forward(back, frame);
    }
    const to = this.#router.direct(frame.dst) ?? (from === this.#router.upstream ? undefined : this.#router.upstream);
    if (frame.kind === 'cancel') {
      const k = key(frame.src, frame.id);
      if (to?.relayed.delete(k)) this.#forward(to, frame);
      return;
    }
    const kind: RelayKind = frame.kind === 'call' ? 'call' : 'event';
    const allowed =
      to !== undefined &&
      to !== from &&
      to.phase === 'open' &&
      frame.kind !== 'error' &&
      relayAllowed(this.#relay, { id: frame.src, role: from.role }, { id: frame.dst, role: to.peer === frame.dst ? to.role : '' }, kind);
    if (!allowed) {
      this.stats.refusedRelays += 1;
      // The same answer whether the target exists or not: a learner learns nothing of the others.
      const wire = protocolError('UNKNOWN_TARGET', `node ${this.id} has no route to ${JSON.stringify(frame.dst)}`);
      if (frame.kind === 'call') return this.#answerError(from, frame.id, frame.src, wire);
      if (frame.kind === 'event') return this.#answerEvent(from, frame, wire);
      return;
    }
    if (frame.kind === 'call' || (frame.kind === 'event' && frame.id !== 0)) to.relayed.set(key(frame.src, frame.id), from);
    try {
      to.link.send(frame);
    } catch (error) {
      to.relayed.delete(key(frame.src, frame.id));
      const e = ensureError(error);
      if (frame.kind === 'call') this.#answerError(from, frame.id, frame.src, protocolError(e.code, e.message));
    }
  }

  /** Sends a relayed frame on; a link that went away meanwhile settles through its close. */
  #forward(to: LinkState, frame: DataFrame | CancelFrame | AckFrame): void {
    if (to.phase !== 'open') return;
    try {
      to.link.send(frame);
    } catch {
      // Closed under us: its close handler answers what depended on it.
    }
  }

  /** A broadcast that reached us: pass it on to the nodes the relay policy lets it reach. */
  #fanOut(from: LinkState, frame: EventFrame): void {
    if (this.#relay === 'none') return;
    for (const state of this.#states.values()) {
      if (state === from || state.phase !== 'open' || state.peer === undefined) continue;
      if (!from.accepted && !state.accepted) continue;
      if (!relayAllowed(this.#relay, { id: frame.src, role: from.role }, { id: state.peer, role: state.role }, 'broadcast')) {
        this.stats.refusedRelays += 1;
        continue;
      }
      this.#sendQuietly(state, frame);
    }
  }

  // ---- sending -------------------------------------------------------------------------------

  #transmitEvent(state: LinkState, frame: EventFrame): void {
    const report = (error: unknown) => this.events.emit('EVENT_FAILED', ensureError(error), { target: frame.dst, name: frame.name });
    try {
      this.#transmit(state, frame, transfersOf([frame.payload]))?.catch(report);
    } catch (error) {
      if (frame.dst === BROADCAST) report(error);
      else throw error;
    }
  }

  /**
   * Sends through the outbound interceptors. Returns a promise only when an interceptor went
   * asynchronous; frames on one link keep their order either way.
   */
  #transmit(state: LinkState, frame: Envelope, transfer?: readonly Transferable[]): Promise<void> | undefined {
    const intercepted = this.#interceptors.length > 0 && isDataFrame(frame);
    if (!intercepted && state.outTail === undefined) {
      state.link.send(this.#local(state, frame), transfer);
      return undefined;
    }
    const run = (): void | Promise<void> => {
      if (!intercepted) return state.link.send(this.#local(state, frame), transfer);
      const out = intercept(this.#interceptors, 'outbound', frame);
      if (out instanceof Promise) return out.then((f) => state.link.send(this.#local(state, f), transfer));
      state.link.send(this.#local(state, out), transfer);
    };
    const clear = (t: Promise<void>) => state.outTail === t && (state.outTail = undefined);
    if (state.outTail) {
      const result = state.outTail.then(run);
      state.outTail = chain(result, () => undefined, clear);
      return result;
    }
    const out = run();
    if (!out) return undefined;
    state.outTail = chain(out, () => undefined, clear);
    return out;
  }

  /** The frame as it goes on this link: without src and dst when they are the link's two ends. */
  #local(state: LinkState, frame: Envelope): Envelope {
    if (!isRouted(frame) || frame.dst !== state.peer || frame.src !== this.id) return frame;
    return unrouted(frame);
  }

  /** For frames nobody awaits (pings, acks, error answers): a closed link is not an error here. */
  #sendQuietly(state: LinkState, frame: Envelope): void {
    if (state.phase === 'closed' || state.link.closed) return;
    try {
      this.#transmit(state, frame)?.catch(() => undefined);
    } catch {
      // The link went away under us; its close handler settles what depended on it.
    }
  }
}

/** Names are bounded on the wire (a receiver refuses a longer one and closes the link): refused here first. */
function nameTooLong(what: 'method' | 'event', name: string): OiafedError {
  return new OiafedError('INVALID_CONFIG', `${what} name of ${name.length} characters is longer than ${MAX_NAME_LENGTH}`);
}

function assertHelloFits(role: string, capabilities: readonly string[]): void {
  if (role.length > MAX_ROLE_LENGTH) throw new OiafedError('INVALID_CONFIG', `role is longer than ${MAX_ROLE_LENGTH} characters`);
  if (capabilities.length > MAX_CAPABILITIES || capabilities.some((c) => typeof c !== 'string' || c.length > MAX_CAPABILITY_LENGTH)) {
    throw new OiafedError('INVALID_CONFIG', `capabilities must be at most ${MAX_CAPABILITIES} strings of at most ${MAX_CAPABILITY_LENGTH} characters`);
  }
}

function isDataFrame(frame: Envelope): frame is DataFrame {
  return frame.kind === 'call' || frame.kind === 'result' || frame.kind === 'error' || frame.kind === 'event';
}

function isRouted(frame: Envelope): frame is DataFrame | CancelFrame | AckFrame {
  return isDataFrame(frame) || frame.kind === 'cancel' || frame.kind === 'ack';
}

/** Appends `next` to a tail promise; `settled` sees the new tail once it has run, to clear it. */
function chain(tail: Promise<void>, next: () => void | Promise<void>, settled: (t: Promise<void>) => unknown): Promise<void> {
  const t: Promise<void> = tail.then(next).then(
    () => void settled(t),
    () => void settled(t),
  );
  return t;
}

/** Method names of an object and its classes, short of Object.prototype; never constructor or `_x`. */
export function exposedMethods(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype && o !== Function.prototype; o = Object.getPrototypeOf(o) as object | null) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor' || name.startsWith('_') || name in Object.prototype) continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}
