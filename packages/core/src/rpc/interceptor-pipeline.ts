import { isDataFrame, type DataFrame, type Envelope } from '../wire/envelope.js';
import { intercept, type Interceptor } from './interceptors.js';

export type Direction = 'outbound' | 'inbound';

/**
 * The last frame of a link, each way, still waiting on an interceptor: later ones queue behind it.
 * Fields of the link's session rather than an object per direction: most nodes never queue.
 */
export interface FrameQueues {
  inboundTail: Promise<void> | undefined;
  outboundTail: Promise<void> | undefined;
}

/**
 * The one way frames pass the interceptors, out and in: data frames through the chain (in list
 * order out, reverse order in), every frame after those queued before it on its link. Synchronous
 * until an interceptor returns a promise, so a node without interceptors pays nothing.
 */
export class InterceptorPipeline {
  constructor(readonly chain: readonly Interceptor[]) {}

  /** Nothing to do for `frame` right now: no interceptor wants it and nothing queues before it. */
  idle(queues: FrameQueues, direction: Direction, frame: Envelope): boolean {
    return queues[`${direction}Tail`] === undefined && (this.chain.length === 0 || !isDataFrame(frame));
  }

  /**
   * Hands `frame`, intercepted, to `deliver`, in order on its link and direction. An interceptor's refusal goes to
   * `refuse` when given, else it is thrown (or rejects the returned promise). Returns a promise only
   * when the frame had to wait.
   */
  pass<F extends Envelope>(
    queues: FrameQueues,
    direction: Direction,
    frame: F,
    deliver: (frame: F | DataFrame) => void,
    refuse?: (error: unknown) => void,
  ): Promise<void> | undefined {
    const run = (): void | Promise<void> => {
      if (this.chain.length === 0 || !isDataFrame(frame)) return deliver(frame);
      let out: DataFrame | Promise<DataFrame>;
      try {
        out = intercept(this.chain, direction, frame);
      } catch (error) {
        if (!refuse) throw error;
        return refuse(error);
      }
      if (!(out instanceof Promise)) return deliver(out);
      return refuse ? out.then(deliver, refuse) : out.then(deliver);
    };
    const tail = `${direction}Tail` as const;
    const clear = (t: Promise<void>) => {
      if (queues[tail] === t) queues[tail] = undefined;
    };
    const before = queues[tail];
    const done = before ? before.then(run) : run();
    if (!done) return undefined;
    queues[tail] = settled(done, clear);
    return done;
  }
}

/** `done`, whatever its outcome, then `after` sees the new tail to clear it. */
function settled(done: Promise<void>, after: (t: Promise<void>) => void): Promise<void> {
  const t: Promise<void> = done.then(
    () => after(t),
    () => after(t),
  );
  return t;
}
