import type { NodeId } from '../wire/envelope.js';
import type { Cohort } from './cohort.js';
import type { Aggregate, Aggregation, StrategyState } from './aggregation.js';
import type { EvaluateParams, EvaluateResult, TrainParams } from './learner.js';
import type { RoundSummary } from './round.js';
import { WeightedMeanAggregation, weightedMetrics } from './weighted-mean.js';
import type { Metrics, Weights } from './weights.js';

/** Where a round starts from: its number, the global model, and the run's hyper-parameters. */
export interface RoundStart {
  readonly round: number;
  /** The global model the round starts from (shared: read it, do not modify it). */
  readonly weights: Weights;
  /** Hyper-parameters for the learners, from the federation config. */
  readonly config: Readonly<Record<string, unknown>>;
}

/** A learner's evaluation of the global model, validated. */
export interface ClientEvaluation extends EvaluateResult {
  readonly client: NodeId;
}

/**
 * The server side of a federated algorithm, after Flower's Strategy: what each learner is asked
 * (`configureTrain`, `configureEvaluate`), how their answers combine (`aggregation`, then
 * `update` for a server optimiser; `aggregateEvaluate`), and the state it carries from round to
 * round (`state`/`restore`, saved in every checkpoint). The schedule does the I/O: it selects the
 * learners, calls them with the round's deadline, validates each result and hands it over as it
 * arrives, so a streaming aggregation holds one model however many learners answer.
 *
 * The defaults are FedAvg (McMahan et al. 2017): every learner trains from the global model with
 * the run's config, and the next global model is the example-weighted mean of their models.
 */
export abstract class Strategy {
  abstract readonly name: string;

  /** The starting model, if the strategy makes one; otherwise the learner whose id sorts first gives it. */
  initialWeights(): Weights | Promise<Weights> | undefined {
    return undefined;
  }

  /**
   * Before the round's training: a strategy that needs more from learners than training and
   * evaluation (their data sizes, a method of its own) gathers it here through the cohort.
   */
  beforeRound?(start: RoundStart, cohort: Cohort, clients: readonly NodeId[]): Promise<void>;

  /** What `client` trains on this round; undefined leaves it out of the round. */
  configureTrain(start: RoundStart, _client: NodeId): TrainParams | undefined {
    return { round: start.round, weights: start.weights, config: { ...start.config } };
  }

  /** A fresh aggregation for the round: it gets each validated update as it arrives. */
  aggregation(_start: RoundStart): Aggregation {
    return new WeightedMeanAggregation();
  }

  /**
   * Under secure aggregation, when the strategy aggregates otherwise than by the example-weighted
   * mean: the aggregate from the sum of the survivors' updates (their models minus the global one),
   * each weighed by 1. Without it (the default) the learners weigh by example count and the round's
   * model is their weighted mean; a strategy overriding `aggregation` without it cannot run securely.
   */
  aggregateSecureSum?(start: RoundStart, updateSum: Weights, count: number): Aggregate;

  /** The next global model from the round's aggregate (a server optimiser steps here). */
  update(_start: RoundStart, aggregate: Aggregate): Weights {
    return aggregate.weights;
  }

  /** What `client` evaluates this round (the new global model); undefined leaves it out. */
  configureEvaluate(start: RoundStart, _client: NodeId): EvaluateParams | undefined {
    return { round: start.round, weights: start.weights, config: { ...start.config } };
  }

  /** The round's federated evaluation metrics. Default: example-weighted means. */
  aggregateEvaluate(_start: RoundStart, results: readonly ClientEvaluation[]): Metrics {
    return weightedMetrics(results);
  }

  /** What the strategy must keep to continue after a restart (moments, momentum, counters). */
  state(): StrategyState {
    return {};
  }

  /** Takes back what `state()` gave: read from a checkpoint file, so check it. */
  restore(_state: StrategyState): void {
    // FedAvg carries nothing between rounds.
  }

  /** Called after every round; true ends the run early. */
  shouldStop(_summary: RoundSummary, _history: readonly RoundSummary[]): boolean {
    return false;
  }
}
