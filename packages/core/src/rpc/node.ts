import { EventEmitter } from 'eventemitter3';
import { BROADCAST, type EventFrame, type NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import { assertNodeId, randomNodeId } from '../wire/node-id.js';
import { boundedText } from '../wire/bounded-text.js';
import { MAX_NAME_LENGTH, MAX_REASON_LENGTH } from '../wire/frame-limits.js';
import { trafficOf, type Link, type LinkTraffic } from '../links/link.js';
import { assertHelloFits, type JoinOptions, type PeerInfo } from '../membership/handshake.js';
import type { ClientDirectory } from '../membership/registry.js';
import type { LinkSession } from './link-session.js';
import { NodeParts } from './node-parts.js';
import type { NodeEvents, NodeOptions, NodeStats } from './node-types.js';
import { createProxy, type CallOptions, type EventMap, type RemoteProxy } from './proxy.js';
import { ProxyCollection } from './proxy-collection.js';
import type { ConfineOptions, EventHandler, ServeOptions } from './served.js';
import { transfersOf } from './transfer.js';

export type { JoinOptions, PeerInfo } from '../membership/handshake.js';
export type { NodeEvents, NodeOptions, NodeStats } from './node-types.js';
export { exposedMethods, type ConfineOptions, type EventHandler, type ServeOptions } from './served.js';

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
  /** The nodes that joined this one and their states (read-only: only a handshake admits a client). */
  readonly registry: ClientDirectory;
  /** Counts of what peers sent that was refused or ignored. */
  readonly stats: NodeStats = { strayAnswers: 0, refusedRelays: 0 };

  readonly #parts: NodeParts;

  constructor(options: NodeOptions = {}) {
    this.id = options.id ?? randomNodeId(options.role);
    assertNodeId(this.id);
    this.role = options.role ?? 'node';
    this.#parts = new NodeParts(this.id, this.role, this.events, this.stats, options);
    this.registry = this.#parts.registry.view;
  }

  // ---- serving -------------------------------------------------------------------------------

  /**
   * Exposes the methods of `target`: its own and its class's, but never `constructor`, names
   * starting with `_`, or anything from Object.prototype. `methods` narrows that to a list;
   * `roles` serves them to peers of those roles only (linked directly: a relayed call is
   * refused UNAUTHORIZED, as is any other caller). Returns a function that withdraws them.
   */
  serve(target: object, options: ServeOptions = {}): () => void {
    return this.#parts.served.serve(target, options);
  }

  /**
   * Confines the peers of `role` that join this node (an observer, say) to what is served to their
   * role (`serve(target, { roles: [role] })`): any other call, any event, and any frame for another
   * node from them is refused UNAUTHORIZED, whatever the relay policy; with `maxPeers`, a hello of
   * that role beyond that many connected is refused OVERLOADED. Returns a function that lifts it.
   */
  confine(role: string, options: ConfineOptions = {}): () => void {
    return this.#parts.served.confine(role, options);
  }

  /** Exposes one function as a method. */
  handle(method: string, fn: (...args: never[]) => unknown): () => void {
    return this.#parts.served.serve({ [method]: fn }, { methods: [method] });
  }

  /** Handles an event sent by other nodes. Returns a function that removes the handler. */
  on<P = unknown>(name: string, handler: EventHandler<P>): () => void {
    return this.#parts.served.on(name, handler);
  }

  // ---- calling -------------------------------------------------------------------------------

  /** A typed handle on node `id`: `await node.proxy<Learner>('l1').train(p)`. */
  proxy<T, E extends EventMap = EventMap>(id: NodeId, options?: CallOptions): RemoteProxy<T, E> {
    return createProxy<T, E>(this, id, options);
  }

  /** Handles on several nodes at once, for broadcast and per-node collection. */
  proxies<T, E extends EventMap = EventMap>(
    ids: readonly NodeId[],
    options?: CallOptions,
  ): ProxyCollection<T, E> {
    return new ProxyCollection<T, E>(this, ids, options);
  }

  call(dst: NodeId, method: string, args: unknown[], options: CallOptions = {}): Promise<unknown> {
    if (method.length > MAX_NAME_LENGTH) return Promise.reject(nameTooLong('method', method));
    return this.#parts.caller.request('call', dst, method, args, options);
  }

  /** One-way event to a node, or to every reachable node with BROADCAST ('*'). */
  emit(dst: NodeId, name: string, payload: unknown): void {
    this.#assertOpen();
    if (name.length > MAX_NAME_LENGTH) throw nameTooLong('event', name);
    const frame: EventFrame = { kind: 'event', id: 0, src: this.id, dst, name, payload };
    if (dst !== BROADCAST) return this.#emitOn(this.#parts.route(dst), frame);
    for (const session of this.#parts.sessions.values())
      if (session.phase === 'open') this.#emitOn(session, frame);
  }

  /** An event that resolves when the receiver's handlers have run; rejects if none exist or one threw. */
  emitWithAck(dst: NodeId, name: string, payload: unknown, options: CallOptions = {}): Promise<void> {
    if (dst === BROADCAST)
      return Promise.reject(
        new OiafedError('UNKNOWN_TARGET', 'acknowledged events go to one node; use proxies(ids).emitWithAck'),
      );
    if (name.length > MAX_NAME_LENGTH) return Promise.reject(nameTooLong('event', name));
    return this.#parts.caller.request('event', dst, name, [payload], options) as Promise<void>;
  }

  #emitOn(session: LinkSession, frame: EventFrame): void {
    const report = (error: unknown) =>
      this.events.emit('EVENT_FAILED', asOiafedError(error, 'sending'), {
        target: frame.dst,
        name: frame.name,
      });
    try {
      this.#parts.outbox.send(session, frame, transfersOf([frame.payload]))?.catch(report);
    } catch (error) {
      if (frame.dst === BROADCAST) report(error);
      else throw error;
    }
  }

  // ---- links ---------------------------------------------------------------------------------

  /**
   * Takes a link on which another node will say hello and join this one; with `roles`, only a node
   * of one of those roles (a server just for observers, say): another is refused UNAUTHORIZED.
   * `helloWithin` (ms, default the connect timeout): a link this node made to a worker of its own
   * waits as long as the worker may take to load its learners, not as long as a stranger is given.
   */
  accept(link: Link, options: { roles?: readonly string[]; helloWithin?: number } = {}): void {
    this.#assertOpen();
    const session = this.#parts.sessions.attach(link, 'pending');
    if (options.roles) session.joinRoles = options.roles;
    this.#parts.handshake.awaitHello(session, options.helloWithin);
  }

  /** Joins the node at the other end of `link`; resolves with its id once it has welcomed us. */
  connect(link: Link, options: JoinOptions = {}): Promise<PeerInfo> {
    this.#assertOpen();
    assertHelloFits(this.role, options.capabilities ?? []);
    return this.#parts.handshake.join(this.#parts.sessions.attach(link, 'joining'), options);
  }

  /** Says goodbye to a directly linked node and closes the link to it (the node itself stays open). */
  disconnect(peer: NodeId, reason = 'disconnected'): void {
    const session = this.#parts.router.direct(peer);
    if (!session) return;
    this.#parts.outbox.sendQuietly(session, {
      kind: 'bye',
      src: this.id,
      reason: boundedText(reason, MAX_REASON_LENGTH),
    });
    this.#parts.sessions.drop(session, reason);
  }

  /** Ids of the nodes linked directly to this one. */
  peers(): NodeId[] {
    return this.#parts.router.peers();
  }

  /** Last measured ping round trip to a directly linked node, ms (measured by the heartbeat: none without it). */
  rtt(peer: NodeId): number | undefined {
    return this.#parts.router.direct(peer)?.rtt;
  }

  /**
   * Bytes received from and sent to a directly linked node on its current link, where the link counts
   * them (WebSocket, WebRTC, strict memory links; not memory or port links). A link's final counts come
   * with PEER_DISCONNECTED.
   */
  traffic(peer: NodeId): LinkTraffic | undefined {
    const link = this.#parts.router.direct(peer)?.link;
    return link && trafficOf(link);
  }

  /** Says goodbye on every link, closes them, and rejects whatever is still pending with CLOSED. */
  close(reason = 'node closed'): void {
    if (!this.#parts.close()) return;
    for (const session of [...this.#parts.sessions.values()]) {
      if (session.phase === 'open')
        this.#parts.outbox.sendQuietly(session, {
          kind: 'bye',
          src: this.id,
          reason: boundedText(reason, MAX_REASON_LENGTH),
        });
      this.#parts.sessions.drop(session, reason);
    }
    this.#parts.caller.pending.rejectAll(() => new OiafedError('CLOSED', `node ${this.id} closed`));
    this.#parts.heartbeat?.stop();
  }

  get closed(): boolean {
    return this.#parts.closed();
  }

  #assertOpen(): void {
    if (this.#parts.closed()) throw new OiafedError('CLOSED', `node ${this.id} is closed`);
  }
}

/** Names are bounded on the wire (a receiver refuses a longer one and closes the link): refused here first. */
function nameTooLong(what: 'method' | 'event', name: string): OiafedError {
  return new OiafedError(
    'INVALID_CONFIG',
    `${what} name of ${name.length} characters is longer than ${MAX_NAME_LENGTH}`,
  );
}
