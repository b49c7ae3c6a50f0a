import type { NodeId } from '../wire/envelope.js';
import type { ClientState } from '../membership/registry.js';
import type { ClientActivity } from './cohort.js';
import type { ClientFailure, RoundFailure, RoundSummary } from './round.js';
import type { Metrics, Weights } from './weights.js';

export type FederationState = 'idle' | 'running' | 'paused' | 'stopping' | 'finished' | 'stopped' | 'failed';

export interface FederationEvents {
  STATE_CHANGED: [state: FederationState];
  ROUND_STARTED: [info: { round: number; clients: NodeId[] }];
  CLIENT_RESULT: [info: { round: number; client: NodeId; numExamples: number; metrics: Metrics; ms: number }];
  /** A learner's call failed; round 0 is the request for the starting model. */
  CLIENT_FAILED: [failure: ClientFailure & { round: number }];
  /** The round's aggregation left a learner's update out (a robust strategy, e.g. Krum). */
  CLIENT_REJECTED: [info: { round: number; client: NodeId; reason: string }];
  /** A learner that failed `failures` rounds in a row is left out of the next `rounds` rounds. */
  CLIENT_EXCLUDED: [info: { round: number; client: NodeId; failures: number; rounds: number }];
  ROUND_FINISHED: [summary: RoundSummary];
  ROUND_FAILED: [failure: RoundFailure];
}

export interface FederationStatus {
  state: FederationState;
  /** The round running or last finished. */
  round: number;
  rounds: number;
  clients: {
    id: NodeId;
    state: ClientState;
    activity: ClientActivity;
    /** Rounds it failed in a row (see `exclude`). */
    failures: number;
    /** Rounds still to come that it is left out of selection (0: selectable). */
    excludedFor: number;
  }[];
  startedAt: number | undefined;
  elapsedMs: number;
  lastRound: RoundSummary | undefined;
}

export interface FederationResult {
  reason: 'completed' | 'stopped' | 'condition';
  /** The last round finished (a round abandoned by stop() is not counted). */
  rounds: number;
  weights: Weights;
  history: RoundSummary[];
  elapsedMs: number;
}
