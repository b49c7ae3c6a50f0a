import type { NodeId } from '../wire/envelope.js';
import type { Link } from '../links/link.js';
import { requestKey, type Member, type Phase, type WelcomeWait } from '../membership/member.js';
import type { RunningCall } from './call-context.js';
import type { FrameQueues } from './interceptor-pipeline.js';

/** Everything a node knows about one of its links: who is there, and the calls and frames under way on it. */
export class LinkSession implements Member, FrameQueues {
  lastSeen = 0;
  heard = false;
  rtt: number | undefined;
  peer: NodeId | undefined;
  phase: Phase;
  accepted = false;
  timedOut = false;
  role = '';
  /** The roles a peer may join with over this link (`Node.accept`); undefined: any. */
  joinRoles: readonly string[] | undefined;
  handshake: WelcomeWait | undefined;
  helloTimer: unknown;
  /**
   * Calls made to us over this link, so they can be cancelled: by id when the peer made them, else by caller
   * and id.
   */
  get running(): Map<number | string, RunningCall> {
    return (this.#running ??= new Map());
  }

  /** Calls relayed out over this link (membership/relay.ts). */
  get relayed(): Map<string, LinkSession> {
    return (this.#relayed ??= new Map());
  }

  // Made when first used: a trainer's links rarely carry calls to it or relayed calls, and two
  // empty maps per link were a few hundred bytes of every learner's cost.
  #running: Map<number | string, RunningCall> | undefined;
  #relayed: Map<string, LinkSession> | undefined;
  /** Keep frames in order, each way, while an interceptor is busy. */
  inboundTail: Promise<void> | undefined;
  outboundTail: Promise<void> | undefined;

  constructor(
    readonly link: Link,
    phase: Phase,
  ) {
    this.phase = phase;
  }

  /** The running-call key: the bare id for the link's own peer (the common case), else caller and id. */
  runningKey(src: NodeId, id: number): number | string {
    return src === this.peer ? id : requestKey(src, id);
  }
}
