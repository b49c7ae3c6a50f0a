import type { EventEmitter } from 'eventemitter3';
import {
  BROADCAST,
  isLinkFrame,
  type RoutedFrame,
  type DataFrame,
  type Envelope,
  type ErrorFrame,
  type NodeId,
} from '../wire/envelope.js';
import { asOiafedError, fromWireError, OiafedError, protocolError } from '../wire/errors.js';
import { boundedText } from '../wire/bounded-text.js';
import type { Clock } from '../wire/clock.js';
import type { Handshake } from '../membership/handshake.js';
import type { Relay } from '../membership/relay.js';
import type { Caller } from './caller.js';
import type { InterceptorPipeline } from './interceptor-pipeline.js';
import type { LinkSession } from './link-session.js';
import type { NodeEvents, NodeStats } from './node-types.js';
import type { Outbox } from './outbox.js';
import type { Served } from './served.js';

/** The parts of a node that incoming frames are handed to. */
export interface InboundHost {
  readonly id: NodeId;
  readonly events: EventEmitter<NodeEvents>;
  readonly clock: Clock;
  readonly handshake: Handshake<LinkSession>;
  readonly relay: Relay<LinkSession>;
  readonly served: Served;
  readonly caller: Caller;
  readonly outbox: Outbox;
  readonly pipeline: InterceptorPipeline;
  readonly stats: NodeStats;
  /** Tells the peer why, closes its link, and reports it. */
  linkError(session: LinkSession, error: OiafedError): void;
  bye(session: LinkSession, reason: string): void;
}

/** The error a link is closed with when handling its frame threw: the peer's fault when typed, ours otherwise. */
const linkFailure = (e: unknown): OiafedError => asOiafedError(e, 'handling a frame');

/**
 * Where every frame a node's links deliver goes: checked against the link's phase and peer, then
 * handed to the handshake, the relay, the inbound interceptors and the served methods or the caller.
 * Whatever handling one frame throws closes that frame's link, and the node goes on.
 */
export class Inbound {
  constructor(readonly host: InboundHost) {}

  frame(session: LinkSession, frame: Envelope): void {
    if (session.phase === 'closed') return;
    session.heard = true;
    try {
      this.#receive(session, frame);
    } catch (error) {
      this.host.linkError(session, linkFailure(error));
    }
  }

  #receive(session: LinkSession, frame: Envelope): void {
    const host = this.host;
    if (isLinkFrame(frame)) {
      return host.linkError(
        session,
        new OiafedError(
          'BAD_FRAME',
          `${frame.kind} frame reached the node: this link does not reassemble them`,
        ),
      );
    }
    switch (frame.kind) {
      case 'ping':
        return host.outbox.sendQuietly(session, { kind: 'pong', t: frame.t });
      case 'pong':
        session.rtt = host.clock.now() - frame.t;
        return;
      case 'hello':
        return void host.handshake
          .onHello(session, frame)
          .catch((error: unknown) => host.linkError(session, linkFailure(error)));
      case 'welcome':
        if (session.handshake) return session.handshake.welcome(frame);
        return host.linkError(session, new OiafedError('BAD_FRAME', 'unexpected welcome'));
      case 'bye':
        return host.bye(session, boundedText(frame.reason ?? 'bye', 256));
      case 'call':
      case 'result':
      case 'error':
      case 'event':
      case 'cancel':
      case 'ack':
        break;
      default:
        return unreachable(frame);
    }
    // Left out on the wire: the link's own two ends (see Routed).
    if ((frame.src as NodeId | undefined) === undefined) {
      frame.src = session.peer!;
      frame.dst = host.id;
    }
    if (session.phase !== 'open') {
      if (frame.kind === 'error' && session.handshake) return session.handshake.refused(frame.error);
      return host.linkError(
        session,
        new OiafedError('BAD_FRAME', `${frame.kind} frame before the handshake completed`),
      );
    }
    if (session.accepted && frame.src !== session.peer) {
      return host.linkError(
        session,
        new OiafedError(
          'BAD_FRAME',
          `${session.peer} sent a frame claiming to be from ${JSON.stringify(frame.src)}`,
        ),
      );
    }
    if (session.accepted && host.served.confines(session.role) && !this.#withinConfinement(session, frame))
      return;
    if (frame.dst !== host.id) {
      if (frame.dst !== BROADCAST || frame.kind !== 'event') return host.relay.frame(session, frame);
      host.relay.fanOut(session, frame);
    }
    if (frame.kind === 'cancel')
      return session.running
        .get(session.runningKey(frame.src, frame.id))
        ?.cancel(boundedText(frame.reason ?? 'cancelled by caller', 256));
    if (frame.kind === 'ack') return host.caller.answered(session, frame.src, frame.id)?.resolve(undefined);
    if (host.pipeline.idle(session, 'inbound', frame)) return this.#dispatch(session, frame);
    void host.pipeline.pass(
      session,
      'inbound',
      frame,
      (f) => this.#guarded(session, f, this.#dispatch),
      (e) => this.#guarded(session, frame, (s, f) => this.#refuse(s, f, asOiafedError(e))),
    );
  }

  /**
   * A confined peer (Node.confine) calls this node, cancels its own calls and answers ours; any other
   * frame of its is refused UNAUTHORIZED (a call or an event) or dropped, whatever the relay policy.
   */
  #withinConfinement(session: LinkSession, frame: RoutedFrame): boolean {
    const self = this.host.id;
    if (frame.dst === self && frame.kind !== 'event' && (frame.kind !== 'error' || frame.id !== 0))
      return true;
    if (frame.kind === 'call' || frame.kind === 'event') {
      const what = frame.kind === 'call' ? `calls to ${JSON.stringify(frame.dst)}` : 'events';
      this.host.served.refuse(
        session,
        frame,
        protocolError('UNAUTHORIZED', `${session.role} peers of ${self} may send no ${what}`),
      );
    }
    this.host.stats.refusedRelays += frame.dst === self ? 0 : 1;
    return false;
  }

  #guarded(
    session: LinkSession,
    frame: DataFrame,
    handle: (session: LinkSession, frame: DataFrame) => void,
  ): void {
    try {
      handle.call(this, session, frame);
    } catch (error) {
      this.host.linkError(session, linkFailure(error));
    }
  }

  #dispatch(session: LinkSession, frame: DataFrame): void {
    switch (frame.kind) {
      case 'call':
        return this.host.served.answerCall(session, frame);
      case 'result':
        return this.host.caller.answered(session, frame.src, frame.id)?.resolve(frame.value);
      case 'error':
        return this.#onErrorFrame(session, frame);
      case 'event':
        return this.host.served.onEvent(session, frame);
    }
  }

  #onErrorFrame(session: LinkSession, frame: ErrorFrame): void {
    const host = this.host;
    if (frame.id !== 0)
      return host.caller
        .answered(session, frame.src, frame.id)
        ?.reject(fromWireError(frame.src, frame.error));
    const error = fromWireError(frame.src, frame.error);
    if (frame.event === undefined) host.events.emit('LINK_ERROR', error, frame.src);
    else if (host.events.listenerCount('EVENT_FAILED') > 0)
      host.events.emit('EVENT_FAILED', error, { target: frame.src, name: frame.event });
    else
      console.warn(
        `[oiafed] event ${boundedText(frame.event, 256)} to ${frame.src} failed: ${boundedText(error.message)}`,
      );
  }

  /** An inbound frame an interceptor refused: answer requests, fail our own pending ones. */
  #refuse(session: LinkSession, frame: DataFrame, error: OiafedError): void {
    if (frame.kind === 'call' || frame.kind === 'event')
      return this.host.served.refuse(session, frame, protocolError(error.code, error.message));
    this.host.caller.answered(session, frame.src, frame.id)?.reject(error);
  }
}

function unreachable(frame: never): never {
  throw new OiafedError(
    'BAD_FRAME',
    `unknown frame kind ${JSON.stringify((frame as { kind?: unknown }).kind)}`,
  );
}
