import type { NodeId } from '../wire/envelope.js';
import type { Cohort } from './cohort.js';
import type { TrainingOutcome } from './fedbuff.js';
import { requireResults, type ClientFailure } from './round.js';
import type { ClientEvaluation, RoundStart, Strategy } from './strategy.js';
import type { Metrics } from './weights.js';

/**
 * A synchronous round's training: the selected learners asked at once, their updates aggregated
 * as they arrive; with over-selection the round closes at `target` results and cancels the rest.
 * ROUND_FAILED with fewer than `minResults`.
 */
export async function trainTogether(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  clients: NodeId[],
  { target, minResults, signal }: { target: number; minResults: number; signal: AbortSignal },
): Promise<TrainingOutcome> {
  const aggregation = strategy.aggregation(start);
  const parts: { numExamples: number; metrics: Metrics }[] = [];
  const train = await cohort.gather(
    'train',
    clients,
    (client) => strategy.configureTrain(start, client),
    (client, result) => {
      const metrics = result.metrics ?? {};
      const { weights, numExamples } = result;
      aggregation.add({ client, weights, numExamples, metrics, staleness: 0 });
      parts.push({ numExamples, metrics });
    },
    target < clients.length ? { enough: target } : {},
  );
  const out: TrainingOutcome = {
    aggregate: { weights: {}, rejected: [] },
    clients,
    parts,
    failures: train.failures,
    stale: 0,
  };
  if (signal.aborted) return out;
  requireResults(start.round, train, clients.length, minResults, 'train');
  out.aggregate = aggregation.result();
  return out;
}

/** Federated evaluation of `start.weights` (the new model) by `evaluators`, combined by the strategy. */
export async function evaluateTogether(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  evaluators: readonly NodeId[],
): Promise<{ metrics: Metrics; numExamples: number; failures: ClientFailure[] }> {
  const results: ClientEvaluation[] = [];
  let numExamples = 0;
  const outcome = await cohort.gather(
    'evaluate',
    evaluators,
    (client) => strategy.configureEvaluate(start, client),
    (client, result) => {
      results.push({ client, numExamples: result.numExamples, metrics: result.metrics });
      numExamples += result.numExamples;
    },
  );
  return { metrics: strategy.aggregateEvaluate(start, results), numExamples, failures: outcome.failures };
}
