import { OiafedError } from '../wire/errors.js';
import type { Node } from '../rpc/node.js';
import type { CheckpointStore } from './checkpoint.js';
import { resolveCodecs, type CodecOptions, type ResolvedCodecs } from './codecs/codec-options.js';
import type { ExcludeOptions } from './exclusion.js';
import type { FedBuffOptions } from './fedbuff.js';
import { DEFAULT_MAX_EXAMPLES } from './result-validation.js';
import type { RoundSummary } from './round.js';
import type { Selection } from './selection.js';
import type { Strategy } from './strategy.js';
import type { Metrics, Weights } from './weights.js';
import {
  resolveSecureAggregation,
  type ResolvedSecureAggregation,
  type SecureAggregationOptions,
} from './secure/options.js';

export interface FederationOptions {
  /** The trainer's node; learners join it (in memory, from workers, over WebSocket or WebRTC). */
  node: Node;
  /** The algorithm. Default: FedAvg. */
  strategy?: Strategy;
  /**
   * How rounds are driven. 'sync' (default): each round selects learners, waits for them (or the
   * deadline), aggregates. FedBuff: `concurrency` learners train at all times and every `buffer`
   * results make the next round's model (a "round" is a model version); `selection`, minResults
   * and overSelection do not apply, `deadline` bounds each learner's training.
   */
  schedule?: 'sync' | ({ name: 'fedbuff' } & FedBuffOptions);
  /** Rounds to run (the run may stop earlier through `stopWhen` or `strategy.shouldStop`). */
  rounds: number;
  /** Learners a round waits to be connected before it selects. Default 1. */
  minClients?: number;
  /**
   * Results a round needs: fewer fails it. A round also selects at least this many learners (as
   * Flower's min_fit_clients does), so a fraction never selects fewer than the round needs. At most
   * `minClients`, since a round may start with only that many learners. Default `minClients`.
   */
  minResults?: number;
  /** Which connected learners train each round. Default 'all'. */
  selection?: Selection;
  /**
   * Over-selection (Bonawitz et al. 2019, as Google's production FL does): a round asks
   * ceil(selected x factor) learners and closes as soon as the selected count have answered, cancelling
   * the rest, since some learners always drop. Default 1 (none).
   */
  overSelection?: number;
  /** Seeds random selection, so runs (and resumed runs) select alike. Default 0. */
  seed?: number;
  /** ms a round may take; learners still working then count as failed (TIMEOUT). 0: no deadline. */
  deadline?: number;
  /** ms a round waits for `minClients` learners to be connected before it fails. Default 60 s. */
  clientWait?: number;
  /** Role of the nodes that are learners. Default 'learner'. */
  learnerRole?: string;
  /** Hyper-parameters every learner receives as `params.config` (epochs, batchSize, lr...). */
  config?: Record<string, unknown>;
  /** The starting global model; default: the first learner's `getWeights()`. */
  initialWeights?: Weights;
  /** Central evaluation of the global model after each round (e.g. test accuracy on held-out data). */
  evaluate?: (weights: Weights, round: number) => Metrics | Promise<Metrics>;
  /**
   * Also let learners evaluate the new global model on their own data: `true` asks the round's
   * training learners; a Selection samples the connected learners afresh (seeded like training).
   * Default false.
   */
  federatedEvaluation?: boolean | Selection;
  /** Where to save a checkpoint after every round; `start()` resumes from it when it holds one. */
  store?: CheckpointStore;
  /** True ends the run after the round just finished. */
  stopWhen?: (summary: RoundSummary, history: readonly RoundSummary[]) => boolean;
  /**
   * What a failed round (fewer than minResults results, or fewer than minClients learners within
   * `clientWait`) does. Both report it (ROUND_FAILED). 'stop': `start()` rejects with its
   * ROUND_FAILED error. 'retry': the round runs again after `retryDelay`, or as soon as a learner
   * joins, until the run completes or is stopped: what a server wants. Default 'stop'.
   */
  onRoundFailure?: 'retry' | 'stop';
  /** ms before a failed round runs again; it doubles while the round keeps failing, up to 60 s. Default 1000. */
  retryDelay?: number;
  /** Largest `numExamples` a learner's result may claim; more is an INVALID_RESULT. Default 1e9. */
  maxExamples?: number;
  /**
   * Learners that fail `after` rounds in a row (throw, time out, return invalid results) are left
   * out of selection for the next `rounds` rounds, then get another chance (failing it too leaves
   * them out twice as long); a round that would otherwise have fewer than minClients learners
   * takes them back at once. Rounds count attempts: a retried round counts again. Default
   * { after: 3, rounds: 5 }; false: never.
   */
  exclude?: ExcludeOptions | false;
  /**
   * Secure aggregation (SecAgg+, Bell et al. 2020): the trainer learns only the sum of a round's
   * updates, never one learner's, and the round survives learners that drop at any phase while
   * `threshold` of their neighbours remain. Only with synchronous rounds and strategies whose
   * aggregate is the example-weighted mean (FedAvg, FedProx, FedAvgM, FedAdagrad, FedAdam,
   * FedYogi). Learners served by `serveLearner` (every joining path of the SDK) take part unchanged.
   */
  secureAggregation?: SecureAggregationOptions;
  /**
   * Compressed updates: the global model sent down in fp16 or int8, the learners' updates sent up
   * as deltas in fp16, int8 (per-block scales) or top-k with error feedback; each learner is asked
   * which it supports, and one that supports none gets float32. Not with secureAggregation.
   */
  codecs?: CodecOptions;
}

/** The options with every default filled in. */
export type ResolvedFederationOptions = Required<
  Pick<
    FederationOptions,
    | 'rounds'
    | 'minClients'
    | 'minResults'
    | 'selection'
    | 'overSelection'
    | 'seed'
    | 'deadline'
    | 'clientWait'
    | 'learnerRole'
    | 'config'
    | 'onRoundFailure'
    | 'retryDelay'
    | 'maxExamples'
  >
> &
  Omit<FederationOptions, 'codecs'> & {
    secureAggregation?: ResolvedSecureAggregation;
    codecs?: ResolvedCodecs;
  };

/** The options with their defaults, or INVALID_CONFIG naming the first field that is wrong. */
export function resolveFederationOptions(options: FederationOptions): ResolvedFederationOptions {
  const { secureAggregation, codecs, ...rest } = options;
  const o: ResolvedFederationOptions = {
    minClients: 1,
    selection: 'all',
    seed: 0,
    deadline: 0,
    clientWait: 60_000,
    learnerRole: 'learner',
    config: {},
    onRoundFailure: 'stop',
    retryDelay: 1_000,
    maxExamples: DEFAULT_MAX_EXAMPLES,
    overSelection: 1,
    ...rest,
    minResults: options.minResults ?? options.minClients ?? 1,
  };
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw invalid('rounds', 'a positive integer', o.rounds);
  if (!Number.isInteger(o.minClients) || o.minClients < 1)
    throw invalid('minClients', 'a positive integer', o.minClients);
  if (!Number.isInteger(o.minResults) || o.minResults < 1)
    throw invalid('minResults', 'a positive integer', o.minResults);
  if (o.minResults > o.minClients) {
    throw new OiafedError(
      'INVALID_CONFIG',
      `federation.minResults (${o.minResults}) is more than federation.minClients (${o.minClients}): a round that starts with minClients learners could never have minResults results`,
    );
  }
  if (!(o.overSelection >= 1) || !Number.isFinite(o.overSelection))
    throw invalid('overSelection', 'a number >= 1', o.overSelection);
  if (!(o.deadline >= 0)) throw invalid('deadline', 'a number of ms >= 0', o.deadline);
  if (typeof o.selection === 'object' && !(o.selection.fraction > 0 && o.selection.fraction <= 1))
    throw invalid('fraction', 'in (0, 1]', o.selection.fraction);
  if (!['retry', 'stop'].includes(o.onRoundFailure))
    throw invalid('onRoundFailure', "'retry' or 'stop'", o.onRoundFailure);
  if (!(o.retryDelay >= 0) || !Number.isFinite(o.retryDelay))
    throw invalid('retryDelay', 'a number of ms >= 0', o.retryDelay);
  if (!Number.isSafeInteger(o.maxExamples) || o.maxExamples < 1)
    throw invalid('maxExamples', 'a positive integer', o.maxExamples);
  const schedule = o.schedule ?? 'sync';
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- options may come from JavaScript
  if (schedule !== 'sync' && schedule.name !== 'fedbuff')
    throw invalid('schedule', "'sync' or { name: 'fedbuff', concurrency, buffer }", schedule);
  if (secureAggregation !== undefined) {
    if (schedule !== 'sync')
      throw new OiafedError(
        'INVALID_CONFIG',
        'federation.secureAggregation needs synchronous rounds: FedBuff folds in updates one by one, and secure aggregation only reveals the sum of a whole round',
      );
    o.secureAggregation = resolveSecureAggregation(secureAggregation);
  }
  if (codecs !== undefined) {
    o.codecs = resolveCodecs(codecs);
    const { up, down } = o.codecs;
    if (secureAggregation !== undefined && (up !== undefined || down !== undefined))
      throw new OiafedError(
        'INVALID_CONFIG',
        `federation.codecs (${[up && `up: ${up}`, down && `down: ${down}`].filter(Boolean).join(', ')}) cannot run with federation.secureAggregation: secure aggregation masks each update as integers modulo 2^bits (its own compression), a codec cannot apply to masked values, top-k's indices would reveal which coordinates a learner changed, and its rounds send the model through phases of their own`,
      );
  }
  return o;
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError(
    'INVALID_CONFIG',
    `federation.${field} must be ${expected} (got ${JSON.stringify(got)})`,
  );
}
