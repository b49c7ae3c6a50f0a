import type { CallFrame, EventFrame, RoutedFrame } from '../wire/envelope.js';
import { asOiafedError, protocolError, type WireError } from '../wire/errors.js';
import { requestKey, type Member } from './member.js';
import { relayAllowed, type RelayKind, type RelayPolicy } from './relay-policy.js';
import type { Router } from './router.js';

/** What the relay needs of its node: its links, how to send on one, how to refuse a request. */
export interface RelayHost<M extends Member> {
  readonly router: Router<M>;
  members(): Iterable<M>;
  sendQuietly(to: M, frame: EventFrame): void;
  /** Answers a request the relay will not pass on (a call, or an event that may want an answer). */
  refuse(from: M, frame: CallFrame | EventFrame, error: WireError): void;
  readonly stats: { refusedRelays: number; strayAnswers: number };
}

/**
 * Frames a node passes between the nodes linked to it. Requests go where the relay policy allows;
 * answers (result, error, ack) only back along a request relayed here, from the node it went to,
 * and cancels only after their request: nothing else passes, so a peer cannot reach past this node
 * or settle others' calls.
 */
export class Relay<M extends Member> {
  constructor(
    readonly self: string,
    readonly policy: RelayPolicy,
    readonly host: RelayHost<M>,
  ) {}

  /** A frame for another node. */
  frame(from: M, frame: RoutedFrame): void {
    if (frame.kind === 'result' || frame.kind === 'ack' || (frame.kind === 'error' && frame.id !== 0)) {
      const k = requestKey(frame.dst, frame.id);
      const back = from.relayed.get(k) as M | undefined;
      if (!back) return void (this.host.stats.strayAnswers += 1);
      from.relayed.delete(k);
      return forward(back, frame);
    }
    const router = this.host.router;
    const to = router.direct(frame.dst) ?? (from === router.upstream ? undefined : router.upstream);
    if (frame.kind === 'cancel') {
      if (to?.relayed.delete(requestKey(frame.src, frame.id))) forward(to, frame);
      return;
    }
    const kind: RelayKind = frame.kind === 'call' ? 'call' : 'event';
    const allowed =
      to !== undefined &&
      to !== from &&
      to.phase === 'open' &&
      frame.kind !== 'error' &&
      relayAllowed(
        this.policy,
        { id: frame.src, role: from.role },
        { id: frame.dst, role: to.peer === frame.dst ? to.role : '' },
        kind,
      );
    if (!allowed) {
      this.host.stats.refusedRelays += 1;
      // The same answer whether the target exists or not: a learner learns nothing of the others.
      if (frame.kind === 'error') return;
      return this.host.refuse(
        from,
        frame,
        protocolError('UNKNOWN_TARGET', `node ${this.self} has no route to ${JSON.stringify(frame.dst)}`),
      );
    }
    if (frame.kind === 'call' || frame.id !== 0) to.relayed.set(requestKey(frame.src, frame.id), from);
    try {
      to.link.send(frame);
    } catch (error) {
      to.relayed.delete(requestKey(frame.src, frame.id));
      const e = asOiafedError(error, 'relaying');
      if (frame.kind === 'call') this.host.refuse(from, frame, protocolError(e.code, e.message));
    }
  }

  /** A broadcast that reached us: pass it on to the nodes the relay policy lets it reach. */
  fanOut(from: M, frame: EventFrame): void {
    if (this.policy === 'none') return;
    for (const member of this.host.members()) {
      if (member === from || member.phase !== 'open' || member.peer === undefined) continue;
      if (!from.accepted && !member.accepted) continue;
      if (
        !relayAllowed(
          this.policy,
          { id: frame.src, role: from.role },
          { id: member.peer, role: member.role },
          'broadcast',
        )
      ) {
        this.host.stats.refusedRelays += 1;
        continue;
      }
      this.host.sendQuietly(member, frame);
    }
  }
}

/** Sends a relayed frame on; a link that went away meanwhile settles through its close. */
function forward(to: Member, frame: RoutedFrame): void {
  if (to.phase !== 'open') return;
  try {
    to.link.send(frame);
  } catch {
    // Closed under us: its close handler answers what depended on it.
  }
}
