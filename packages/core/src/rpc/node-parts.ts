import type { EventEmitter } from 'eventemitter3';
import type { CallFrame, Envelope, EventFrame, NodeId } from '../wire/envelope.js';
import { OiafedError, type WireError } from '../wire/errors.js';
import { DEFAULT_CONNECT_TIMEOUT } from '../links/connect-timeout.js';
import { systemClock, type Clock } from '../wire/clock.js';
import { Handshake, type HandshakeHost } from '../membership/handshake.js';
import { DEFAULT_HEARTBEAT, Heartbeat, type HeartbeatHooks } from '../membership/heartbeat.js';
import { Registry, type ClientInfo } from '../membership/registry.js';
import type { ResumeSecrets } from '../membership/resume-secrets.js';
import { Relay, type RelayHost } from '../membership/relay.js';
import { Router } from '../membership/router.js';
import { Caller, type CallerHost } from './caller.js';
import { Inbound, type InboundHost } from './inbound.js';
import { InterceptorPipeline } from './interceptor-pipeline.js';
import type { LinkSession } from './link-session.js';
import type { NodeEvents, NodeOptions, NodeStats } from './node-types.js';
import { Outbox } from './outbox.js';
import { DEFAULT_REQUEST_TIMEOUT } from './request-timeout.js';
import { Served } from './served.js';
import { Sessions, type SessionParts } from './sessions.js';

/** The pipeline of every node without interceptors: it holds no state, so one serves them all. */
const NO_INTERCEPTORS = new InterceptorPipeline([]);

/**
 * The parts of one node, and what they ask of each other: each part is handed this object as its
 * host and sees it through its own narrow interface (HandshakeHost, RelayHost, CallerHost, ...).
 * One object whose methods live on its prototype, rather than a closure per need: a thousand
 * learners simulated in one tab each pay for the wiring, so it stays a few hundred bytes.
 */
export class NodeParts
  implements
    HandshakeHost<LinkSession>,
    RelayHost<LinkSession>,
    CallerHost,
    HeartbeatHooks<LinkSession>,
    InboundHost,
    SessionParts
{
  readonly registry: Registry;
  readonly router: Router<LinkSession>;
  readonly clock: Clock;
  readonly pipeline: InterceptorPipeline;
  readonly outbox: Outbox;
  readonly served: Served;
  readonly caller: Caller;
  readonly heartbeat: Heartbeat<LinkSession> | undefined;
  readonly handshake: Handshake<LinkSession>;
  readonly secrets: ResumeSecrets;
  readonly relay: Relay<LinkSession>;
  readonly inbound: Inbound;
  readonly sessions: Sessions;
  #closed = false;

  constructor(
    readonly id: NodeId,
    role: string,
    readonly events: EventEmitter<NodeEvents>,
    readonly stats: NodeStats,
    options: NodeOptions,
  ) {
    const clock = (this.clock = options.clock ?? systemClock);
    this.registry = new Registry(options.registry);
    this.router = new Router<LinkSession>(id);
    const interceptors = options.interceptors ?? [];
    this.pipeline = interceptors.length === 0 ? NO_INTERCEPTORS : new InterceptorPipeline(interceptors);
    this.outbox = new Outbox(id, this.pipeline);
    this.served = new Served(this.outbox, options.exposeStack ?? false);
    this.caller = new Caller(this, this.outbox, options.timeout ?? DEFAULT_REQUEST_TIMEOUT, clock);
    const beats = options.heartbeat === false ? undefined : { ...DEFAULT_HEARTBEAT, ...options.heartbeat };
    this.heartbeat = beats && new Heartbeat<LinkSession>(beats, this, clock);
    const { authenticate, credentials } = options;
    const connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.handshake = new Handshake<LinkSession>(
      { self: id, role, connectTimeout, authenticate, credentials, clock },
      this,
    );
    this.secrets = this.handshake.secrets;
    this.relay = new Relay<LinkSession>(id, options.relay ?? 'none', this);
    this.inbound = new Inbound(this);
    this.sessions = new Sessions(this);
  }

  /** The open session a frame for `dst` leaves on. */
  route(dst: NodeId): LinkSession {
    const session = this.router.linkFor(dst);
    if (session.phase !== 'open') throw new OiafedError('NOT_CONNECTED', `link to ${dst} is not open`);
    return session;
  }

  closed(): boolean {
    return this.#closed;
  }

  /** Marks the node closed; true the first time only. */
  close(): boolean {
    if (this.#closed) return false;
    this.#closed = true;
    return true;
  }

  members(): IterableIterator<LinkSession> {
    return this.sessions.values();
  }

  send(session: LinkSession, frame: Envelope): void {
    this.outbox.sendQuietly(session, frame);
  }

  sendQuietly(session: LinkSession, frame: EventFrame): void {
    this.outbox.sendQuietly(session, frame);
  }

  refuse(from: LinkSession, frame: CallFrame | EventFrame, error: WireError): void {
    this.served.refuse(from, frame, error);
  }

  drop(session: LinkSession, reason: string): void {
    this.sessions.drop(session, reason);
  }

  linkError(session: LinkSession, error: OiafedError): void {
    this.sessions.linkError(session, error);
  }

  bye(session: LinkSession, reason: string): void {
    this.sessions.bye(session, reason);
  }

  opened(session: LinkSession): void {
    this.heartbeat?.watch(session);
  }

  maxPeers(role: string): number | undefined {
    return this.served.maxPeers(role);
  }

  registered(client: ClientInfo): void {
    this.events.emit('CLIENT_REGISTERED', client);
  }

  ping(session: LinkSession, t: number): void {
    this.outbox.sendQuietly(session, { kind: 'ping', t });
  }

  dead(session: LinkSession, silent: number): void {
    session.timedOut = true;
    this.sessions.drop(session, `heartbeat timeout: silent for ${silent} ms`);
  }
}
