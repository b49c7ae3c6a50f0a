import type { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError, protocolError } from '../wire/errors.js';
import { boundedText } from '../wire/bounded-text.js';
import { trafficOf, type Link } from '../links/link.js';
import type { Clock } from '../wire/clock.js';
import type { Heartbeat } from '../membership/heartbeat.js';
import { parseRequestKey, type Phase } from '../membership/member.js';
import type { Registry } from '../membership/registry.js';
import type { ResumeSecrets } from '../membership/resume-secrets.js';
import type { Router } from '../membership/router.js';
import type { Caller } from './caller.js';
import type { Inbound } from './inbound.js';
import { LinkSession } from './link-session.js';
import type { NodeEvents } from './node-types.js';
import type { Outbox } from './outbox.js';
import type { Served } from './served.js';

/** The parts of a node that a link's life touches. */
export interface SessionParts {
  readonly id: NodeId;
  readonly events: EventEmitter<NodeEvents>;
  readonly registry: Registry;
  readonly router: Router<LinkSession>;
  readonly clock: Clock;
  readonly outbox: Outbox;
  readonly inbound: Inbound;
  readonly caller: Caller;
  readonly served: Served;
  readonly secrets: ResumeSecrets;
  readonly heartbeat: Heartbeat<LinkSession> | undefined;
}

/**
 * The links of a node, from attaching one to its close: what closing a link settles (its running
 * and relayed calls, our requests on it, its registration) happens here, once, however it closed.
 */
export class Sessions {
  readonly #all = new Map<Link, LinkSession>();

  constructor(readonly parts: SessionParts) {}

  values(): IterableIterator<LinkSession> {
    return this.#all.values();
  }

  attach(link: Link, phase: Phase): LinkSession {
    const session = new LinkSession(link, phase);
    this.#all.set(link, session);
    link.listen({
      frame: (frame) => this.parts.inbound.frame(session, frame),
      close: (reason) => this.#onClose(session, reason),
      error: (error) => this.linkError(session, error),
      heard: () => void (session.heard = true),
    });
    return session;
  }

  /** Closes the link now and settles everything that depended on it, without waiting for its close event. */
  drop(session: LinkSession, reason: string): void {
    session.link.close(reason);
    this.#onClose(session, reason);
  }

  /** The peer said goodbye: a client of ours leaves the registry as unregistered. */
  bye(session: LinkSession, reason: string): void {
    const { router, registry, events } = this.parts;
    if (session.accepted && session.peer !== undefined && router.direct(session.peer) === session) {
      const client = registry.depart(session.peer, 'unregistered', reason);
      if (client) events.emit('CLIENT_UNREGISTERED', client);
    }
    this.drop(session, `bye: ${reason}`);
  }

  /** Tells the peer why, closes its link, and reports it: whatever a listener of LINK_ERROR does. */
  linkError(session: LinkSession, error: OiafedError): void {
    if (session.phase === 'closed') return;
    const message = boundedText(error.message, 512);
    this.parts.outbox.sendQuietly(session, {
      kind: 'error',
      id: 0,
      src: this.parts.id,
      dst: session.peer ?? '',
      error: protocolError(error.code, message),
    });
    this.drop(session, `${error.code}: ${message}`);
    try {
      this.parts.events.emit('LINK_ERROR', error, session.peer);
    } catch (thrown) {
      console.error(
        `[oiafed] a LINK_ERROR listener threw: ${boundedText(thrown instanceof Error ? thrown.message : thrown)}`,
      );
    }
  }

  #onClose(session: LinkSession, reason: string): void {
    if (session.phase === 'closed') return;
    const { clock, heartbeat, caller, served, router, secrets, registry, events } = this.parts;
    const wasOpen = session.phase === 'open';
    session.phase = 'closed';
    this.#all.delete(session.link);
    clock.clearTimeout(session.helloTimer);
    heartbeat?.unwatch(session);
    session.handshake?.closed(reason);
    for (const call of session.running.values()) call.cancel(`caller disconnected: ${reason}`);
    session.running.clear();
    const peer = session.peer ?? 'peer';
    caller.pending.rejectLink(
      session.link,
      () => new OiafedError('DISCONNECTED', `${peer} disconnected: ${reason}`),
    );
    for (const [k, back] of session.relayed) {
      const [src, id] = parseRequestKey(k);
      served.answerError(back, id, src, protocolError('DISCONNECTED', `${peer} disconnected: ${reason}`));
    }
    session.relayed.clear();
    if (!wasOpen || session.peer === undefined) return;
    if (router.remove(session.peer, session) && session.accepted) {
      secrets.forget(session.peer);
      const client = registry.depart(session.peer, session.timedOut ? 'timeout' : 'disconnected', reason);
      if (client) events.emit('CLIENT_DISCONNECTED', client);
    }
    events.emit('PEER_DISCONNECTED', session.peer, reason, trafficOf(session.link));
  }
}
