import { isDataFrame, type DataFrame, type Envelope } from '../wire/envelope.js';
import { intercept, type Interceptor } from './interceptors.js';

export type Direction = 'outbound' | 'inbound';

/** The frames of one link and direction still waiting on an interceptor: later ones queue behind. */
export class FrameQueue {
  tail: Promise<void> | undefined;
}

/**
 * The one way frames pass the interceptors, out and in: data frames through the chain (in list
 * order out, reverse order in), every frame after those queued before it on its link. Synchronous
 * until an interceptor returns a promise, so a node without interceptors pays nothing.
 */
export class InterceptorPipeline {
  constructor(readonly chain: readonly Interceptor[]) {}

  /** Nothing to do for `frame` right now: no interceptor wants it and nothing queues before it. */
  idle(queue: FrameQueue, frame: Envelope): boolean {
    return queue.tail === undefined && (this.chain.length === 0 || !isDataFrame(frame));
  }

  /**
   * Hands `frame`, intercepted, to `deliver`, in order on `queue`. An interceptor's refusal goes to
   * `refuse` when given, else it is thrown (or rejects the returned promise). Returns a promise only
   * when the frame had to wait.
   */
  pass<F extends Envelope>(
    queue: FrameQueue,
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
    const clear = (t: Promise<void>) => {
      if (queue.tail === t) queue.tail = undefined;
    };
    const done = queue.tail ? queue.tail.then(run) : run();
    if (!done) return undefined;
    queue.tail = settled(done, clear);
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
