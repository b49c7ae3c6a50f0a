import { isRouted, unrouted, type Envelope, type NodeId } from '../wire/envelope.js';
import type { Transferable } from '../links/link.js';
import type { InterceptorPipeline } from './interceptor-pipeline.js';
import type { LinkSession } from './link-session.js';

/** How a node's frames leave: through the outbound interceptors, in order per link, unrouted where they can be. */
export class Outbox {
  constructor(
    readonly self: NodeId,
    readonly pipeline: InterceptorPipeline,
  ) {}

  /**
   * Sends `frame` on the session's link. Throws what the link throws when sent at once; returns a
   * promise (which rejects instead) only when an interceptor went asynchronous or frames wait before it.
   */
  send(session: LinkSession, frame: Envelope, transfer?: readonly Transferable[]): Promise<void> | undefined {
    if (this.pipeline.idle(session, 'outbound', frame)) {
      session.link.send(this.#local(session, frame), transfer);
      return undefined;
    }
    return this.pipeline.pass(session, 'outbound', frame, (f) =>
      session.link.send(this.#local(session, f), transfer),
    );
  }

  /** For frames nobody awaits (pings, acks, error answers): a closed link is not an error here. */
  sendQuietly(session: LinkSession, frame: Envelope): void {
    if (session.phase === 'closed' || session.link.closed) return;
    try {
      this.send(session, frame)?.catch(() => undefined);
    } catch {
      // The link went away under us; its close handler settles what depended on it.
    }
  }

  /** The frame as it goes on this link: without src and dst when they are the link's two ends. */
  #local(session: LinkSession, frame: Envelope): Envelope {
    if (!isRouted(frame) || frame.dst !== session.peer || frame.src !== this.self) return frame;
    return unrouted(frame);
  }
}
