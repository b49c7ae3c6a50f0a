import type { Node } from '../rpc/node.js';

/** The event a trainer sends each of its learners when its run ends. */
export const RUN_END_EVENT = 'oiafed.finished';

/**
 * Why a run ended, as its trainer announces it (a failed run is one whose `start()` rejected; 'budget':
 * differential privacy's epsilon budget).
 */
export type RunEndReason = 'completed' | 'condition' | 'budget' | 'stopped' | 'failed';

/** The payload of `oiafed.finished`: why the run ended, and the last round it finished. */
export interface RunEndNotice {
  reason: RunEndReason;
  rounds: number;
}

const REASONS: ReadonlySet<string> = new Set<RunEndReason>([
  'completed',
  'condition',
  'budget',
  'stopped',
  'failed',
]);

/** How long the trainer keeps track of a notice nobody acknowledged: the run is over, nothing waits on it. */
const NOTICE_TIMEOUT = 10_000;

/**
 * Tells every connected learner of role `learnerRole` that the run ended. Nothing is thrown: a
 * learner whose link just closed simply does not hear it. The notice is an acknowledged event so
 * that a learner node that does not take part in it (a plain `Node` in memory mode, a worker's
 * learner) answers its caller, instead of sending back a one-way error the trainer would report.
 * Resolves once every learner has acknowledged it or failed to (within NOTICE_TIMEOUT): a node
 * about to close its links waits for that, or may cut off a notice still on its way (a data
 * channel destroyed with it in its buffer); one that stays up need not.
 */
export async function announceRunEnd(node: Node, learnerRole: string, notice: RunEndNotice): Promise<void> {
  await Promise.allSettled(
    node.registry
      .connected(learnerRole)
      .map((learner) => node.emitWithAck(learner, RUN_END_EVENT, notice, { timeout: NOTICE_TIMEOUT })),
  );
}

/**
 * A notice as a learner takes it: the payload came over the wire, so a reason it does not know is
 * 'unknown' and a round count that is not a non-negative integer is 0.
 */
export function readRunEndNotice(payload: unknown): { reason: RunEndReason | 'unknown'; rounds: number } {
  const { reason, rounds } =
    typeof payload === 'object' && payload !== null ? (payload as Record<string, unknown>) : {};
  return {
    reason: typeof reason === 'string' && REASONS.has(reason) ? (reason as RunEndReason) : 'unknown',
    rounds: Number.isSafeInteger(rounds) && (rounds as number) >= 0 ? (rounds as number) : 0,
  };
}
