import type { NodeId } from '../../wire/envelope.js';
import type { Cohort } from '../cohort.js';
import type { TrainingOutcome } from '../fedbuff.js';
import type { ClientFailure } from '../round.js';
import type { RoundStart, Strategy } from '../strategy.js';
import type { Metrics, Weights } from '../weights.js';
import { advertiseKeys, shareKeys } from './key-exchange.js';
import { flatLayout } from './layout.js';
import { collectMaskedInputs } from './masked-input.js';
import type { ResolvedSecureAggregation } from './options.js';
import { dequantizeInto } from './quantize.js';
import { SecureRoundState } from './round-state.js';
import { unmask } from './unmasking.js';

/**
 * A synchronous round's training under SecAgg+ (Bell et al. 2020; Bonawitz et al. 2017 on the full
 * graph), driven through the cohort one phase at a time: key advertisement, share exchange (the
 * sealed shares routed through the trainer, then delivered), masked input (each learner trains and
 * answers only its masked update), unmasking (survivors reveal self-mask shares of survivors and
 * mask-key shares of the dropped), and the sum. The trainer sees masked vectors and the sum only.
 *
 * A learner that fails or answers malformed data at any phase is left out (and reported); the round
 * fails with ROUND_FAILED naming the phase when a dropped learner's neighbours, or a survivor's,
 * fall below the threshold, or fewer than `minResults` masked inputs arrive.
 */
export async function trainSecurely(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  clients: readonly NodeId[],
  options: SecureRoundOptions,
): Promise<TrainingOutcome> {
  const { secure } = options;
  const outcome = await secureSum(strategy, start, cohort, clients, options);
  const { sum, survivors, results, failures, levels } = outcome;
  const layout = flatLayout(start.weights);
  const total = sum[layout.size]!;
  const equal = strategy.aggregateSecureSum !== undefined;
  // Each learner's weight was checked in the clear; its levels were not (the masks hide them). A
  // learner that weighs its levels otherwise than its weight says can push a value's sum past what
  // `total` inputs of at most `levels - 1` make, even wrap it: such a sum is clamped, so whatever one
  // learner sends, each value of the mean stays within [-clipRange, clipRange].
  const most = total * (levels - 1);
  for (let i = 0; i < layout.size; i++) if (sum[i]! > most) sum[i] = most;
  const weights: Weights = {};
  for (const { name, offset, length } of layout.tensors) {
    const global = start.weights[name]!;
    const data = new Float32Array(length);
    dequantizeInto(sum, offset, total, secure.clipRange, levels, data);
    // The mean update, back to a model; or, weighed alike, to the updates' sum for the strategy.
    if (equal) for (let i = 0; i < length; i++) data[i] = data[i]! * total;
    else for (let i = 0; i < length; i++) data[i] = data[i]! + global.data[i]!;
    weights[name] = { shape: [...global.shape], data };
  }
  const aggregate = equal
    ? strategy.aggregateSecureSum!(start, weights, survivors.length)
    : { weights, rejected: [] };
  // The summary counts the examples each learner said it trained on, as a plain round's does.
  return { aggregate, clients: [...clients], parts: results, failures, stale: 0 };
}

export interface SecureRoundOptions {
  /** The round fails with fewer masked inputs. */
  minResults: number;
  /** With over-selection, the masked inputs that close the phase (default: every learner asked). */
  target?: number;
  secure: ResolvedSecureAggregation;
}

/** What the protocol gives the trainer: the sum of the survivors' encoded updates, and no one update. */
export interface SecureSum {
  /** The sum modulo 2^bits of each survivor's weighted levels, then of their example counts. */
  sum: Uint32Array;
  /** Whose inputs are in the sum. */
  survivors: NodeId[];
  /** Each survivor's example count and training metrics (sent in the clear beside its masked input). */
  results: { numExamples: number; metrics: Metrics }[];
  failures: ClientFailure[];
  /** The quantisation levels of the round. */
  levels: number;
}

/**
 * The protocol's phases, to the unmasked sum (see `trainSecurely`): key advertisement and share
 * exchange (key-exchange.ts), masked input (masked-input.ts), unmasking (unmasking.ts).
 */
export async function secureSum(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  clients: readonly NodeId[],
  options: SecureRoundOptions,
): Promise<SecureSum> {
  const round = new SecureRoundState(strategy, start, cohort, clients, options.secure);
  const advertised = await advertiseKeys(round);
  const sharing = await shareKeys(round, advertised);
  const { sum, survivors, results } = await collectMaskedInputs(round, sharing, {
    minResults: options.minResults,
    target: options.target ?? clients.length,
  });
  await unmask(round, sum, survivors, sharing);
  if (sum[sum.length - 1]! < 1) throw round.fail('unmask', 'the unmasked example count is 0');
  return { sum, survivors, results, failures: round.failures, levels: round.levels };
}
