import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';

/** Per-sample figures of one contender: wall time and event-loop active time, ns per operation. */
export interface TwoClocks {
  wall: number[];
  active: number[];
}

interface Contender {
  op: () => unknown;
  /** The worker on the other end, whose event loop's active time counts too. */
  worker: Worker;
}

/**
 * Like `interleaved`, and each sample also read on a second clock: the time the event loops of
 * this thread and of the contender's worker were busy (Node's eventLoopUtilization), not waiting.
 * On a shared 2-core machine, a wall-clock round trip of a few tens of microseconds is mostly
 * waiting to be scheduled; the busy time is what the code itself spent, and moves far less.
 */
export async function interleavedTwoClocks(
  contenders: Record<string, Contender>,
  options: { batch: number; samples: number; warmup: number },
): Promise<Record<string, TwoClocks>> {
  const names = Object.keys(contenders);
  const out: Record<string, TwoClocks> = Object.fromEntries(names.map((n) => [n, { wall: [], active: [] }]));
  for (let round = -options.warmup; round < options.samples; round++) {
    for (const name of names) {
      const { op, worker } = contenders[name]!;
      const here = performance.eventLoopUtilization();
      const there = worker.performance.eventLoopUtilization();
      const start = process.hrtime.bigint();
      for (let i = 0; i < options.batch; i++) await op();
      const wall = Number(process.hrtime.bigint() - start) / options.batch;
      const busy =
        performance.eventLoopUtilization(here).active + worker.performance.eventLoopUtilization(there).active;
      if (round < 0) continue;
      out[name]!.wall.push(wall);
      out[name]!.active.push((busy * 1e6) / options.batch);
    }
  }
  return out;
}
