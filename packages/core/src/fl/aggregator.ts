import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';
import type { HeartbeatOptions } from '../membership/heartbeat.js';
import { currentCall } from '../rpc/call-context.js';
import type { Node } from '../rpc/node.js';
import type { RetryPolicy } from '../rpc/retry.js';
import type { Federation } from './federation.js';
import type { EvaluateParams, EvaluateResult, Learner, TrainParams, TrainResult } from './learner.js';
import { FederationMember, type FinishedNotice, type MemberStatus } from './member.js';
import { announceRunEnd } from './run-end.js';
import { hierarchyProblem } from './hierarchy.js';
import { DEFAULT_MAX_EXAMPLES } from './result-validation.js';
import { isPlainObject, modelProblem, type Weights } from './weights.js';

export interface AggregatorOptions {
  /** The node its own learners join (the federation's node). */
  node: Node;
  /**
   * The federation of its learners, not started: its rounds are the parent's, run when the parent
   * asks. Its strategy must aggregate by the example-weighted mean (FedAvg, FedProx): see
   * `hierarchyProblem`.
   */
  federation: Federation;
  /** Makes a link to the parent; each reconnection calls it again (`rehoming` tries a list in turn). */
  connect: () => Promise<Link>;
  /** Its id at the parent. Default: its node's id. */
  id?: NodeId;
  /** The token the parent wants. */
  token?: string;
  retry?: Partial<RetryPolicy>;
  heartbeat?: Partial<HeartbeatOptions> | false;
  /** ms the first join to the parent may take (default DEFAULT_JOIN_TIMEOUT, 30 s). */
  joinTimeout?: number;
  /**
   * ms of the parent's deadline kept for the result to travel up: the learners' round closes this
   * much before the parent stops waiting. Default a tenth of the parent's time, at most 5 s.
   */
  margin?: number;
  /** The role of its learners, told when the parent's run ends. Default 'learner'. */
  learnerRole?: string;
  /**
   * The most examples its parent takes from one learner (the parent's `maxExamples`): the total it
   * reports is capped there, since each leaf's claim may be within its own cap while their sum is
   * not, and the parent would refuse the whole subtree for one leaf's claim. Default 1e9, the
   * parent's default; raise it with the parent's.
   */
  parentMaxExamples?: number;
}

export interface AggregatorEvents {
  /** Its standing with its parent, as a learner's (registered, training, reconnecting...). */
  status: [status: MemberStatus];
}

/**
 * A node between a trainer and learners: a learner of its parent and the trainer of its own
 * learners, with the same strategy code. The parent's training request runs one round of its
 * federation from the parent's model, config and deadline, and answers with the round's aggregate
 * (for FedAvg the example-weighted mean of its learners' models) and their total example count, so
 * the parent's mean over aggregators equals the mean over every learner. Its learners reach only
 * it: their node is not the one its parent calls, so they can neither call its learner methods
 * nor reach the parent or the learners of other aggregators.
 */
export class Aggregator {
  readonly events = new EventEmitter<AggregatorEvents>();
  readonly federation: Federation;
  /** Its learner side: the node that joined the parent, and its uplink. */
  readonly member: FederationMember;
  /**
   * Settles when its part ends: the parent's run ended (once its learners are told the same and
   * have acknowledged it, or 10 s passed), it was closed, or its uplink gave up. Never rejects.
   */
  readonly finished: Promise<FinishedNotice>;

  private constructor(federation: Federation, member: FederationMember, finished: Promise<FinishedNotice>) {
    this.federation = federation;
    this.member = member;
    this.finished = finished;
  }

  /**
   * Joins the parent as a learner whose training is a round of `options.federation`; resolves once
   * registered, rejects like `FederationMember.join` (refused, out of attempts or out of time), or
   * with INVALID_CONFIG for a strategy that does not compose over levels.
   */
  static async serve(options: AggregatorOptions): Promise<Aggregator> {
    const { federation, node } = options;
    const problem = hierarchyProblem(federation.strategy);
    if (problem !== undefined) throw new OiafedError('INVALID_CONFIG', problem);
    const parentMaxExamples = options.parentMaxExamples ?? DEFAULT_MAX_EXAMPLES;
    if (!Number.isSafeInteger(parentMaxExamples) || parentMaxExamples < 1)
      throw new OiafedError(
        'INVALID_CONFIG',
        `parentMaxExamples must be a positive integer (got ${String(parentMaxExamples)})`,
      );
    const member = await FederationMember.join({
      learner: new AggregatingLearner(federation, options.margin, parentMaxExamples),
      connect: options.connect,
      id: options.id ?? node.id,
      capabilities: ['train', 'evaluate', 'aggregate'],
      ...(options.token === undefined ? {} : { token: options.token }),
      ...(options.retry === undefined ? {} : { retry: options.retry }),
      ...(options.heartbeat === undefined ? {} : { heartbeat: options.heartbeat }),
      ...(options.joinTimeout === undefined ? {} : { joinTimeout: options.joinTimeout }),
    });
    const learnerRole = options.learnerRole ?? 'learner';
    const finished = member.finished.then(async (notice) => {
      // The parent's run is over: so is this level's, and its learners are told the same.
      let told: Promise<void> | undefined;
      if (notice.reason !== 'closed' && notice.reason !== 'lost') {
        const reason = notice.reason === 'unknown' ? 'stopped' : notice.reason;
        told = announceRunEnd(node, learnerRole, { reason, rounds: notice.rounds });
      }
      federation.stop(`parent: ${notice.reason}`, { final: false });
      // Whoever closes its links once it has finished (oiafed serve exits) must not cut the notice off.
      await told;
      return notice;
    });
    const aggregator = new Aggregator(federation, member, finished);
    member.events.on('status', (status) => aggregator.events.emit('status', status));
    return aggregator;
  }

  /** Leaves the parent and stops its learners' round in flight (its learners are not told: they re-home). */
  close(): void {
    this.member.close();
    this.federation.stop('aggregator closed', { final: false });
  }
}

/** `Aggregator.serve`. */
export function serveAggregator(options: AggregatorOptions): Promise<Aggregator> {
  return Aggregator.serve(options);
}

/** Longest time kept from the parent's deadline for the answer's way up. */
const MAX_MARGIN = 5_000;

/** What the parent calls: each request runs through the aggregator's federation. */
class AggregatingLearner implements Learner {
  readonly #federation: Federation;
  readonly #margin: number | undefined;
  readonly #cap: number;

  constructor(federation: Federation, margin: number | undefined, cap: number) {
    this.#federation = federation;
    this.#margin = margin;
    this.#cap = cap;
  }

  train(params: TrainParams): Promise<TrainResult> {
    const deadline = this.#deadline();
    const { round, weights, config } = checkedParams(params, 'train');
    return this.#federation
      .runRound(round, { weights, config, deadline })
      .then(({ summary, weights: aggregate }) => ({
        weights: aggregate,
        // What its learners' accepted results add up to, never a number a learner gave for them all.
        numExamples: this.#capped(summary.numExamples),
        metrics: summary.trainMetrics,
      }));
  }

  evaluate(params: EvaluateParams): Promise<EvaluateResult> {
    const deadline = this.#deadline();
    const { round, weights, config } = checkedParams(params, 'evaluate');
    return this.#federation
      .evaluateRound(round, { weights, config, deadline })
      .then(({ metrics, numExamples }) => ({ numExamples: this.#capped(numExamples), metrics }));
  }

  /** At most what the parent takes (`parentMaxExamples`): one leaf's claim cannot get the whole subtree refused. */
  #capped(numExamples: number): number {
    return Math.min(numExamples, this.#cap);
  }

  /** Before any round, the starting model its own learners give (the parent asks when it has none). */
  async getWeights(): Promise<Weights> {
    return this.#federation.currentWeights();
  }

  setWeights(weights: Weights): void {
    const problem = modelProblem(weights);
    if (problem !== undefined) throw new OiafedError('BAD_FRAME', `setWeights: ${problem}`);
    this.#federation.setWeights(weights);
  }

  /** ms its learners' round may take: the parent's time (read before any await) less the way up. */
  #deadline(): number {
    const timeout = currentCall().timeout;
    if (timeout === undefined) return 0;
    const margin = this.#margin ?? Math.min(MAX_MARGIN, timeout / 10);
    return Math.max(1, timeout - margin);
  }
}

/** A parent's request as the aggregator relays it: a round number, a model and a plain config. */
function checkedParams(params: unknown, method: string): TrainParams {
  if (!isPlainObject(params)) throw new OiafedError('BAD_FRAME', `${method}: params are not an object`);
  const { round, weights, config } = params;
  if (!Number.isSafeInteger(round) || (round as number) < 1)
    throw new OiafedError('BAD_FRAME', `${method}: round must be a positive integer`);
  const problem = modelProblem(weights);
  if (problem !== undefined) throw new OiafedError('BAD_FRAME', `${method}: ${problem}`);
  if (config !== undefined && !isPlainObject(config))
    throw new OiafedError('BAD_FRAME', `${method}: config is not a plain object`);
  return { round: round as number, weights: weights as Weights, config: config ?? {} };
}
