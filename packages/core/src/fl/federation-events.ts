import type { NodeId } from '../wire/envelope.js';
import type { ClientState } from '../membership/registry.js';
import type { ClientActivity } from './cohort.js';
import type { ClientFailure, RoundFailure, RoundSummary } from './round.js';
import type { Metrics, Weights } from './weights.js';

export type FederationState = 'idle' | 'running' | 'paused' | 'stopping' | 'finished' | 'stopped' | 'failed';

export interface FederationEvents {
  STATE_CHANGED: [state: FederationState];
  /**
   * The run waits for learners to connect: `joined` of the `needed` it waits for (before a round,
   * for the starting model, or in `waitForClients`). Fired when a wait begins, when a learner joins
   * during it, and when it is over (`joined >= needed`); not when enough were there already.
   */
  WAITING_FOR_LEARNERS: [info: { joined: number; needed: number }];
  /**
   * A round began: the learners asked, and `target`, the results that close it (fewer than asked
   * with over-selection; under FedBuff, `clients` is empty and `target` is the buffer).
   */
  ROUND_STARTED: [info: { round: number; clients: NodeId[]; target: number }];
  /**
   * A learner's training result was accepted: the `results`-th of this round (attempt). Under secure
   * aggregation, its masked input arrived: `masked` is set, and `numExamples` and `metrics` are what
   * the learner sent in the clear beside it (as in Flower's SecAgg+); its update is only in the sum.
   */
  CLIENT_RESULT: [
    info: {
      round: number;
      client: NodeId;
      numExamples: number;
      metrics: Metrics;
      ms: number;
      results: number;
      masked?: true;
    },
  ];
  /** A learner's call failed; round 0 is the request for the starting model. */
  CLIENT_FAILED: [failure: ClientFailure & { round: number }];
  /** The round's aggregation left a learner's update out (a robust strategy, e.g. Krum). */
  CLIENT_REJECTED: [info: { round: number; client: NodeId; reason: string }];
  /** A learner that failed `failures` rounds in a row is left out of the next `rounds` rounds. */
  CLIENT_EXCLUDED: [info: { round: number; client: NodeId; failures: number; rounds: number }];
  ROUND_FINISHED: [summary: RoundSummary];
  ROUND_FAILED: [failure: RoundFailure];
  /**
   * Something `telemetry()` shows changed: the state, a round, a learner's result or failure, a
   * learner joining or leaving. Coalesced: at most once per TELEMETRY_INTERVAL ms, after the changes.
   * Counters that move on their own (bytes, RTT, elapsed time) do not fire it: read them as often
   * as you show them.
   */
  TELEMETRY: [];
}

/** A learner as the trainer sees it: its link, its part in the run, and what it cost. */
export interface ClientStatus {
  id: NodeId;
  state: ClientState;
  activity: ClientActivity;
  /** Rounds it failed in a row (see `exclude`). */
  failures: number;
  /** Rounds still to come that it is left out of selection (0: selectable). */
  excludedFor: number;
  /** Calls it failed in this run, all rounds (round 0: the starting model). */
  failed: number;
  /** Train results of its that were accepted in this run. */
  rounds: number;
  /**
   * Its latest accepted train result: the round, its examples, up to four of its metrics, and
   * whether its update came masked (secure aggregation).
   */
  lastResult: { round: number; numExamples: number; metrics: Metrics; masked?: true } | undefined;
  /** Last ping round trip on its link, ms, as the heartbeat measures it (undefined without one, or before a pong). */
  rtt: number | undefined;
  /**
   * Bytes received from it and sent to it, over all its links in this run, where links count them
   * (WebSocket, WebRTC, strict memory links); undefined over memory and port links, which encode nothing.
   */
  bytesIn: number | undefined;
  bytesOut: number | undefined;
}

export interface FederationStatus {
  state: FederationState;
  /** The round running or last finished. */
  round: number;
  rounds: number;
  /** Every learner the registry holds: the connected ones, then those that left and are remembered. */
  clients: ClientStatus[];
  startedAt: number | undefined;
  elapsedMs: number;
  lastRound: RoundSummary | undefined;
}

/** One finished round, as a chart shows it. */
export interface RoundPoint {
  round: number;
  /** Learners selected, and how many of them returned a usable result. */
  clients: number;
  results: number;
  failures: number;
  /** Example-weighted means of the learners' training metrics (e.g. `loss`). */
  train: Metrics;
  /** The global model's evaluation (e.g. `accuracy`, `loss`; `federated_*` when the learners evaluate). */
  eval: Metrics;
  /** How long the round took, ms. */
  ms: number;
  /** With differential privacy: epsilon spent by the run up to this round, at delta (and the budget, if any). */
  privacy?: { epsilon: number; delta: number; budget?: number };
}

/** What `telemetry()` returns: which points, and how many learners' rows. */
export interface TelemetryQuery {
  /** Only the points of rounds after this one (default 0: every round). */
  since?: number;
  /** At most this many learners' rows (default 50, at most MAX_TELEMETRY_ROWS). */
  rows?: number;
}

/**
 * A run at a glance, bounded whatever the number of learners: what a dashboard shows. It is the
 * status with the round-by-round points, learner counts, and the rows of the first `rows`
 * learners (connected ones first).
 */
export interface FederationTelemetry extends Omit<FederationStatus, 'lastRound'> {
  /** The strategy's name. */
  strategy: string;
  learners: {
    connected: number;
    /** Learners that left and are still remembered (see `registry.recentDeparted`). */
    departed: number;
    /** Learners with a call out (training, evaluating or working). */
    busy: number;
  };
  /** One per finished round after `since`, in round order. */
  points: RoundPoint[];
}

export interface FederationResult {
  /** 'budget': differential privacy's epsilon budget would be spent past by one more round. */
  reason: 'completed' | 'stopped' | 'condition' | 'budget';
  /** The last round finished (a round abandoned by stop() is not counted). */
  rounds: number;
  weights: Weights;
  history: RoundSummary[];
  elapsedMs: number;
}
