import { boundedText } from '../wire/bounded-text.js';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { ClientFailure, RoundSummary } from './round.js';
import type { EvaluateParams, EvaluateResult, LearnerProxy, TrainParams, TrainResult } from './learner.js';
import { weightedMetrics } from './weighted-mean.js';
import type { Metrics, Weights } from './weights.js';

export interface GatherOutcome {
  succeeded: NodeId[];
  failures: ClientFailure[];
}

interface Requests {
  train: [TrainParams, TrainResult];
  evaluate: [EvaluateParams, EvaluateResult];
}

/** What a trainer sees of the round it runs. It reaches learners only through these proxies. */
export interface RoundContext {
  readonly round: number;
  /** The global model at the start of the round. */
  readonly weights: Weights;
  /** The learners selected for this round. */
  readonly clients: readonly NodeId[];
  /** Hyper-parameters for the learners, from the federation config. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Fewer usable results than this fails the round. */
  readonly minResults: number;
  /** Aborts when the federation is stopped. */
  readonly signal: AbortSignal;
  proxy(id: NodeId): LearnerProxy;
  /**
   * Asks each learner in `clients` (default: the round's) and hands every result to `onResult` as it
   * arrives, keeping none of them: memory stays what `onResult` keeps. Results are validated first,
   * for every trainer: a train result must have the global model's layout (tensor names, shapes,
   * Float32Array lengths) with finite values, an integer `numExamples` from 1 (evaluate: 0) to
   * `maxExamples`, and metrics of finite numbers. A learner that fails, times out at the round
   * deadline, disconnects, returns an invalid result (INVALID_RESULT), or whose result `onResult`
   * rejects by throwing is reported and counted, never fatal. Calls made through `proxy` are not
   * validated: check what you use from them.
   */
  gather<M extends keyof Requests>(
    method: M,
    paramsFor: (client: NodeId) => Requests[M][0],
    onResult: (client: NodeId, result: Requests[M][1]) => void,
    clients?: readonly NodeId[],
  ): Promise<GatherOutcome>;
}

export interface TrainOutcome {
  weights: Weights;
  numExamples: number;
  results: number;
  trainMetrics: Metrics;
  failures: ClientFailure[];
}

export interface EvaluateOutcome {
  metrics: Metrics;
  failures: ClientFailure[];
}

/** Something that averages (or otherwise combines) updates as they arrive. */
export interface Aggregator {
  add(weights: Weights, numExamples: number): void;
  result(): Weights;
}

/**
 * The server side of a federated algorithm. A subclass overrides what differs: the whole round
 * (`trainRound`), how updates combine (`createAggregator`), what learners are told (`trainConfig`),
 * federated evaluation (`evaluateRound`), or when to stop (`shouldStop`).
 */
export abstract class Trainer {
  abstract readonly name: string;

  abstract createAggregator(round: number): Aggregator;

  /** What each learner receives as `params.config`. */
  trainConfig(ctx: RoundContext, _client: NodeId): Record<string, unknown> {
    return { ...ctx.config };
  }

  /** Sends the global model to the round's learners and combines their updates as they arrive. */
  async trainRound(ctx: RoundContext): Promise<TrainOutcome> {
    const aggregator = this.createAggregator(ctx.round);
    const parts: { numExamples: number; metrics?: Metrics }[] = [];
    const outcome = await ctx.gather(
      'train',
      (client) => ({ round: ctx.round, weights: ctx.weights, config: this.trainConfig(ctx, client) }),
      (_client, result) => {
        aggregator.add(result.weights, result.numExamples);
        parts.push({ numExamples: result.numExamples, metrics: result.metrics ?? {} });
      },
    );
    requireResults(ctx, outcome, 'train');
    return {
      weights: aggregator.result(),
      numExamples: parts.reduce((n, p) => n + p.numExamples, 0),
      results: outcome.succeeded.length,
      trainMetrics: weightedMetrics(parts),
      failures: outcome.failures,
    };
  }

  /** Federated evaluation: each learner evaluates the global model on its own data. */
  async evaluateRound(ctx: RoundContext): Promise<EvaluateOutcome> {
    const parts: EvaluateResult[] = [];
    const outcome = await ctx.gather(
      'evaluate',
      () => ({ round: ctx.round, weights: ctx.weights, config: { ...ctx.config } }),
      (_client, result) => void parts.push(result),
    );
    return { metrics: weightedMetrics(parts), failures: outcome.failures };
  }

  /** Called after every round; true ends the run early. */
  shouldStop(_summary: RoundSummary, _history: readonly RoundSummary[]): boolean {
    return false;
  }
}

export function requireResults(ctx: RoundContext, outcome: GatherOutcome, what: string): void {
  if (outcome.succeeded.length >= ctx.minResults) return;
  // A thousand failures make one bounded line, naming the first few.
  const { failures } = outcome;
  const named = failures.slice(0, 8).map((f) => `${f.client}: ${f.code} ${f.message}`);
  const why = boundedText(`${named.join('; ')}${failures.length > named.length ? `; ${failures.length - named.length} more` : ''}`);
  throw new OiafedError(
    'ROUND_FAILED',
    `round ${ctx.round}: ${outcome.succeeded.length} of ${ctx.clients.length} learners returned ${what} results, fewer than minClients ${ctx.minResults}${why ? ` (${why})` : ''}`,
  );
}
