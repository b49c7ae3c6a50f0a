import { EventEmitter } from 'eventemitter3';
import { BROADCAST, type Envelope, type EventFrame, type NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';
import { assertNodeId, randomNodeId } from '../wire/node-id.js';
import { boundedText } from '../wire/bounded-text.js';
import { MAX_NAME_LENGTH, MAX_REASON_LENGTH } from '../wire/frame-limits.js';
import { systemClock } from '../membership/clock.js';
import { assertHelloFits, Handshake, type JoinOptions, type PeerInfo } from '../membership/handshake.js';
import { DEFAULT_HEARTBEAT, Heartbeat } from '../membership/heartbeat.js';
import { Registry, type ClientDirectory } from '../membership/registry.js';
import { Relay } from '../membership/relay.js';
import { Router } from '../membership/router.js';
import { Caller } from './caller.js';
import { Inbound } from './inbound.js';
import { InterceptorPipeline } from './interceptor-pipeline.js';
import type { LinkSession } from './link-session.js';
import type { NodeEvents, NodeOptions, NodeStats } from './node-types.js';
import { Outbox } from './outbox.js';
import { Sessions } from './sessions.js';
import { createProxy, type CallOptions, type EventMap, type RemoteProxy } from './proxy.js';
import { ProxyCollection } from './proxy-collection.js';
import { Served, type EventHandler } from './served.js';
import { DEFAULT_REQUEST_TIMEOUT } from './request-timeout.js';
import { DEFAULT_CONNECT_TIMEOUT } from '../links/connect-timeout.js';
import { transfersOf } from './transfer.js';

export type { JoinOptions, PeerInfo } from '../membership/handshake.js';
export type { NodeEvents, NodeOptions, NodeStats } from './node-types.js';
export { exposedMethods, type EventHandler } from './served.js';

/**
 * An endpoint of a federation: it serves methods and events, calls and notifies other nodes, and
 * holds the links that reach them. One class for trainers and learners: a trainer accepts links
 * (`accept`), a learner joins one (`connect`). The work is done by its parts: the handshake and
 * relay (membership), the caller and what is served (rpc), one inbound demux and one outbox.
 */
export class Node {
  readonly id: NodeId;
  readonly role: string;
  /** Local notifications: CLIENT_REGISTERED, CLIENT_DISCONNECTED, PEER_DISCONNECTED, ... */
  readonly events = new EventEmitter<NodeEvents>();
  /** The nodes that joined this one. */
  readonly #registry = new Registry();
  /** The nodes that joined this one and their states (read-only: only a handshake admits a client). */
  readonly registry: ClientDirectory = this.#registry.view;
  /** Counts of what peers sent that was refused or ignored. */
  readonly stats: NodeStats = { strayAnswers: 0, refusedRelays: 0 };

  readonly #router: Router<LinkSession>;
  readonly #outbox: Outbox;
  readonly #served: Served;
  readonly #caller: Caller;
  readonly #handshake: Handshake<LinkSession>;
  readonly #heartbeat: Heartbeat<LinkSession> | undefined;
  readonly #sessions: Sessions;
  #closed = false;

  /** Builds the parts, each told only what it needs of the others (the sessions, made last, are reached lazily). */
  constructor(options: NodeOptions = {}) {
    const id = (this.id = options.id ?? randomNodeId(options.role));
    assertNodeId(id);
    const role = (this.role = options.role ?? 'node');
    const { events, stats } = this;
    const registry = this.#registry;
    const clock = options.clock ?? systemClock;
    const router = (this.#router = new Router<LinkSession>(id));
    const pipeline = new InterceptorPipeline(options.interceptors ?? []);
    const outbox = (this.#outbox = new Outbox(id, pipeline));
    const send = (s: LinkSession, frame: Envelope) => outbox.sendQuietly(s, frame);
    const drop = (s: LinkSession, reason: string) => this.#sessions.drop(s, reason);
    const linkError = (s: LinkSession, e: OiafedError) => this.#sessions.linkError(s, e);
    const served = (this.#served = new Served(outbox, options.exposeStack ?? false));
    const node = { route: (dst: NodeId) => this.#route(dst), closed: () => this.#closed, stats };
    const caller = (this.#caller = new Caller(node, outbox, options.timeout ?? DEFAULT_REQUEST_TIMEOUT, clock));
    const liveness = {
      ping: (s: LinkSession, t: number) => send(s, { kind: 'ping', t }),
      dead: (s: LinkSession, silent: number) => {
        s.timedOut = true;
        drop(s, `heartbeat timeout: silent for ${silent} ms`);
      },
    };
    const beats = options.heartbeat === false ? undefined : { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    const heartbeat = (this.#heartbeat = beats && new Heartbeat<LinkSession>(beats, liveness, clock));
    const { authenticate, credentials } = options;
    const handshake = (this.#handshake = new Handshake<LinkSession>(
      { self: id, role, connectTimeout: options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT, authenticate, credentials, clock },
      { router, registry, send, drop, linkError, opened: (s) => heartbeat?.watch(s), registered: (c) => events.emit('CLIENT_REGISTERED', c) },
    ));
    const members = () => this.#sessions.values();
    const refuse = served.refuse.bind(served);
    const relay = new Relay<LinkSession>(id, options.relay ?? 'none', { router, stats, members, sendQuietly: send, refuse });
    const bye = (s: LinkSession, reason: string) => this.#sessions.bye(s, reason);
    const inbound = new Inbound({ id, events, clock, handshake, relay, served, caller, outbox, pipeline, linkError, bye });
    const secrets = handshake.secrets;
    this.#sessions = new Sessions({ id, events, registry, router, clock, outbox, inbound, caller, served, secrets, heartbeat });
  }

  // ---- serving -------------------------------------------------------------------------------

  /**
   * Exposes the methods of `target`: its own and its class's, but never `constructor`, names
   * starting with `_`, or anything from Object.prototype. `methods` narrows that to a list.
   * Returns a function that withdraws them.
   */
  serve(target: object, options: { methods?: readonly string[] } = {}): () => void {
    return this.#served.serve(target, options);
  }

  /** Exposes one function as a method. */
  handle(method: string, fn: (...args: never[]) => unknown): () => void {
    return this.#served.serve({ [method]: fn }, { methods: [method] });
  }

  /** Handles an event sent by other nodes. Returns a function that removes the handler. */
  on<P = unknown>(name: string, handler: EventHandler<P>): () => void {
    return this.#served.on(name, handler);
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
    return this.#caller.request('call', dst, method, args, options);
  }

  /** One-way event to a node, or to every reachable node with BROADCAST ('*'). */
  emit(dst: NodeId, name: string, payload: unknown): void {
    this.#assertOpen();
    if (name.length > MAX_NAME_LENGTH) throw nameTooLong('event', name);
    const frame: EventFrame = { kind: 'event', id: 0, src: this.id, dst, name, payload };
    if (dst !== BROADCAST) return this.#emitOn(this.#route(dst), frame);
    for (const session of this.#sessions.values()) if (session.phase === 'open') this.#emitOn(session, frame);
  }

  /** An event that resolves when the receiver's handlers have run; rejects if none exist or one threw. */
  emitWithAck(dst: NodeId, name: string, payload: unknown, options: CallOptions = {}): Promise<void> {
    if (dst === BROADCAST) return Promise.reject(new OiafedError('UNKNOWN_TARGET', 'acknowledged events go to one node; use proxies(ids).emitWithAck'));
    if (name.length > MAX_NAME_LENGTH) return Promise.reject(nameTooLong('event', name));
    return this.#caller.request('event', dst, name, [payload], options) as Promise<void>;
  }

  #emitOn(session: LinkSession, frame: EventFrame): void {
    const report = (error: unknown) => this.events.emit('EVENT_FAILED', asOiafedError(error, 'sending'), { target: frame.dst, name: frame.name });
    try {
      this.#outbox.send(session, frame, transfersOf([frame.payload]))?.catch(report);
    } catch (error) {
      if (frame.dst === BROADCAST) report(error);
      else throw error;
    }
  }

  // ---- links ---------------------------------------------------------------------------------

  /** Takes a link on which another node will say hello and join this one. */
  accept(link: Link): void {
    this.#assertOpen();
    this.#handshake.awaitHello(this.#sessions.attach(link, 'pending'));
  }

  /** Joins the node at the other end of `link`; resolves with its id once it has welcomed us. */
  connect(link: Link, options: JoinOptions = {}): Promise<PeerInfo> {
    this.#assertOpen();
    assertHelloFits(this.role, options.capabilities ?? []);
    return this.#handshake.join(this.#sessions.attach(link, 'joining'), options);
  }

  /** Says goodbye to a directly linked node and closes the link to it (the node itself stays open). */
  disconnect(peer: NodeId, reason = 'disconnected'): void {
    const session = this.#router.direct(peer);
    if (!session) return;
    this.#outbox.sendQuietly(session, { kind: 'bye', src: this.id, reason: boundedText(reason, MAX_REASON_LENGTH) });
    this.#sessions.drop(session, reason);
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
    for (const session of [...this.#sessions.values()]) {
      if (session.phase === 'open') this.#outbox.sendQuietly(session, { kind: 'bye', src: this.id, reason: boundedText(reason, MAX_REASON_LENGTH) });
      this.#sessions.drop(session, reason);
    }
    this.#caller.pending.rejectAll(() => new OiafedError('CLOSED', `node ${this.id} closed`));
    this.#heartbeat?.stop();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The open session a frame for `dst` leaves on. */
  #route(dst: NodeId): LinkSession {
    const session = this.#router.linkFor(dst);
    if (session.phase !== 'open') throw new OiafedError('NOT_CONNECTED', `link to ${dst} is not open`);
    return session;
  }

  #assertOpen(): void {
    if (this.#closed) throw new OiafedError('CLOSED', `node ${this.id} is closed`);
  }
}

/** Names are bounded on the wire (a receiver refuses a longer one and closes the link): refused here first. */
function nameTooLong(what: 'method' | 'event', name: string): OiafedError {
  return new OiafedError('INVALID_CONFIG', `${what} name of ${name.length} characters is longer than ${MAX_NAME_LENGTH}`);
}
