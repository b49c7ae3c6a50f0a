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
  readonly running = new Map<number | string, RunningCall>();
  readonly relayed = new Map<string, LinkSession>();
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
