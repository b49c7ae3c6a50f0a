import { cloneState, type StrategyState } from './aggregation.js';
import type { RoundSummary } from './round.js';
import { cloneWeights, type Weights } from './weights.js';

/**
 * Enough to continue a run: the last finished round, its global model, the history so far, and the strategy's
 * state.
 */
export interface Checkpoint {
  round: number;
  weights: Weights;
  history: RoundSummary[];
  /** What the strategy carries between rounds (server optimiser moments...); none for FedAvg. */
  strategy?: StrategyState;
  /** FedBuff: the learners under way and the models they train from, to ask again on resume. */
  schedule?: StrategyState;
}

/** Where checkpoints go. A file store lives in @oiafed/node; anything with these two methods works. */
export interface CheckpointStore {
  save(checkpoint: Checkpoint): Promise<void>;
  load(): Promise<Checkpoint | undefined>;
}

/** Keeps the latest checkpoint in memory (copies, so later rounds cannot change it). */
export class MemoryCheckpointStore implements CheckpointStore {
  #latest: Checkpoint | undefined;

  async save(checkpoint: Checkpoint): Promise<void> {
    this.#latest = copy(checkpoint);
  }

  async load(): Promise<Checkpoint | undefined> {
    return this.#latest && copy(this.#latest);
  }
}

function copy(checkpoint: Checkpoint): Checkpoint {
  const { round, weights, history, strategy, schedule } = checkpoint;
  return {
    round,
    weights: cloneWeights(weights),
    history: structuredCloneHistory(history),
    ...(strategy === undefined ? {} : { strategy: cloneState(strategy) }),
    ...(schedule === undefined ? {} : { schedule: cloneState(schedule) }),
  };
}

function structuredCloneHistory(history: RoundSummary[]): RoundSummary[] {
  return history.map((r) => ({
    ...r,
    clients: [...r.clients],
    failures: r.failures.map((f) => ({ ...f })),
    rejected: r.rejected.map((x) => ({ ...x })),
    trainMetrics: { ...r.trainMetrics },
    evalMetrics: { ...r.evalMetrics },
    timings: { ...r.timings },
    ...(r.privacy ? { privacy: { ...r.privacy } } : {}),
  }));
}
