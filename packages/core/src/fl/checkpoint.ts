import type { RoundSummary } from './round.js';
import { cloneWeights, type Weights } from './weights.js';

/** Enough to continue a run: the last finished round, its global model, and the history so far. */
export interface Checkpoint {
  round: number;
  weights: Weights;
  history: RoundSummary[];
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
    this.#latest = { round: checkpoint.round, weights: cloneWeights(checkpoint.weights), history: structuredCloneHistory(checkpoint.history) };
  }

  async load(): Promise<Checkpoint | undefined> {
    const latest = this.#latest;
    return latest && { round: latest.round, weights: cloneWeights(latest.weights), history: structuredCloneHistory(latest.history) };
  }
}

function structuredCloneHistory(history: RoundSummary[]): RoundSummary[] {
  return history.map((r) => ({ ...r, clients: [...r.clients], failures: r.failures.map((f) => ({ ...f })), trainMetrics: { ...r.trainMetrics }, evalMetrics: { ...r.evalMetrics }, timings: { ...r.timings } }));
}
