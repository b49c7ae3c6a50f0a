import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { CancelSignal } from '../wire/signals.js';
import type { Node } from '../rpc/node.js';
import { failureOf } from './cohort.js';
import type { ClientFailure } from './round.js';
import type { Strategy } from './strategy.js';
import { modelProblem, type Weights } from './weights.js';

/** What finding the starting model needs of its federation. */
export interface StartingModelParts {
  readonly node: Node;
  readonly strategy: Strategy;
  /** Learners a run waits for before its first round. */
  readonly minClients: number;
  readonly clientWait: number;
  readonly signal: AbortSignal;
  readonly calls: CancelSignal;
  /** Resolves with the connected learners `candidates()` keeps once there are `n` (TIMEOUT after `ms`). */
  waitFor(candidates: (connected: NodeId[]) => NodeId[], n: number, ms: number): Promise<NodeId[]>;
  /** A learner that failed to give it (CLIENT_FAILED, round 0). */
  failed(failure: ClientFailure): void;
}

/** The strategy's starting model, or else a learner's. */
export async function startingModel(parts: StartingModelParts): Promise<Weights> {
  const own = await parts.strategy.initialWeights();
  if (own === undefined) return fromLearners(parts);
  const problem = modelProblem(own);
  if (problem !== undefined)
    throw new OiafedError('INVALID_CONFIG', `${parts.strategy.name}.initialWeights(): ${problem}`);
  return own;
}

/**
 * The starting model from a learner: once `minClients` learners are connected (what the first
 * round waits for too), the one whose id sorts first, never the first to arrive, so runs in any
 * mode start alike. One that fails or answers nonsense is reported (CLIENT_FAILED, round 0) and
 * the next is asked, so one hostile learner cannot choose or block the starting model.
 */
async function fromLearners(parts: StartingModelParts): Promise<Weights> {
  const asked = new Set<NodeId>();
  let last: ClientFailure | undefined;
  for (;;) {
    const needed = asked.size === 0 ? parts.minClients : 1;
    const candidates = await parts
      .waitFor((connected) => connected.filter((id) => !asked.has(id)), needed, parts.clientWait)
      .catch((error: unknown) => {
        if (!last || parts.signal.aborted) throw error;
        throw new OiafedError(
          'TIMEOUT',
          `no learner gave a usable starting model within ${parts.clientWait} ms (last: ${last.client}: ${last.code} ${last.message})`,
          { cause: error },
        );
      });
    const first = candidates.sort()[0]!;
    asked.add(first);
    try {
      const weights: unknown = await parts.node.call(first, 'getWeights', [], { signal: parts.calls });
      const problem = modelProblem(weights);
      if (problem === undefined) return weights as Weights;
      throw new OiafedError('INVALID_RESULT', `starting model: ${problem}`);
    } catch (error) {
      if (parts.signal.aborted) throw error;
      last = failureOf(first, error);
      parts.failed(last);
    }
  }
}
