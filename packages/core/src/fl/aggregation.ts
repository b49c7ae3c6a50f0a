import type { NodeId } from '../wire/envelope.js';
import type { RoundPrivacy } from './privacy/round-privacy.js';
import type { CompressedUpdate } from './codecs/encoded-weights.js';
import type { Metrics, Weights } from './weights.js';

/** One learner's validated answer to a training request, as a strategy sees it. */
export interface ClientUpdate {
  readonly client: NodeId;
  readonly weights: Weights;
  /** How many examples the update was trained on (validated: a positive integer). */
  readonly numExamples: number;
  readonly metrics: Metrics;
  /**
   * How many global model versions were made between the one the learner started from and the
   * one this update is folded into: 0 in synchronous rounds, often more under FedBuff.
   */
  readonly staleness: number;
  /**
   * The update as it arrived compressed, only for an aggregation that `acceptsCompressed`: then
   * `weights` is the model the learner was sent and its model is that plus the decoded delta.
   */
  readonly compressed?: CompressedUpdate;
}

/** A learner whose update an aggregation left out, and why (Krum, trimmed outliers...). */
export interface Rejection {
  readonly client: NodeId;
  readonly reason: string;
}

/** What a round's updates came to: the aggregated model, and whom it left out. */
export interface Aggregate {
  weights: Weights;
  rejected: Rejection[];
  /** What the round spent of privacy, when the strategy adds differential privacy. */
  privacy?: RoundPrivacy;
}

/**
 * How one round's updates combine. `add` is called as each update arrives; `result` once, after
 * the last. A streaming aggregation (the weighted mean) keeps O(model) memory and drops each update
 * once added; one that needs every update at once (median, Krum) keeps them and says so with
 * `keepsUpdates`, so the schedule knows the round holds one model per learner.
 */
export interface Aggregation {
  readonly keepsUpdates: boolean;
  /**
   * True when `add` takes a compressed update as it is (`ClientUpdate.compressed`) and decodes it
   * straight into its sum; otherwise each compressed update is decoded to float32 before `add`.
   */
  readonly acceptsCompressed?: boolean;
  add(update: ClientUpdate): void;
  /** Throws ROUND_FAILED when the updates it was given cannot make a model (none, or too few for it). */
  result(): Aggregate;
}

/** A value a strategy keeps across rounds and a checkpoint stores: numbers, text, models, nested. */
export type StateValue =
  number | string | boolean | null | Weights | readonly StateValue[] | { readonly [key: string]: StateValue };

/** What a strategy saves in every checkpoint to continue bit-identically after a restart. */
export type StrategyState = Readonly<Record<string, StateValue>>;

/**
 * The server side of a federated optimiser (Reddi et al. 2021, "Adaptive Federated Optimization"):
 * the next global model from the current one and the round's aggregate, with state of its own
 * (momentum, moments) that is saved and restored with the checkpoint.
 */
export interface ServerOptimizer {
  readonly name: string;
  /** The next global model. Must not modify `global` or `aggregate` (both may be shared). */
  step(global: Weights, aggregate: Weights): Weights;
  state(): StrategyState;
  restore(state: StrategyState): void;
}

/** A deep copy of a strategy's state (its models copied too), so a stored state shares nothing with the run. */
export function cloneState<S extends StateValue>(value: S): S {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: StateValue) => cloneState(v)) as unknown as S;
  const out: Record<string, unknown> = {};
  // A tensor's values are the one non-plain object a state holds.
  for (const [key, v] of Object.entries(value))
    out[key] = v instanceof Float32Array ? v.slice() : cloneState(v as StateValue);
  return out as S;
}
