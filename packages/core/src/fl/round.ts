import { boundedText } from '../wire/bounded-text.js';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { GatherOutcome } from './cohort.js';
import type { RoundPrivacy } from './privacy/round-privacy.js';
import type { Metrics } from './weights.js';

/** A learner that did not contribute to a round, and why. */
export interface ClientFailure {
  client: NodeId;
  /** One of the ErrorCodes (wire/errors.ts), or a remote application's own code. */
  code: string;
  message: string;
}

/** What one round did: who was asked, who answered, what it measured and how long it took. */
export interface RoundSummary {
  round: number;
  /** The learners selected for the round. */
  clients: NodeId[];
  /** How many returned a usable result. */
  results: number;
  numExamples: number;
  failures: ClientFailure[];
  /** Learners whose update the aggregation left out (robust strategies), and why. */
  rejected: { client: NodeId; reason: string }[];
  /** Example-weighted means of the learners' training metrics. */
  trainMetrics: Metrics;
  /** The global model's evaluation (central, or federated over the learners). */
  evalMetrics: Metrics;
  timings: { trainMs: number; evaluateMs: number; totalMs: number };
  /** FedBuff: results dropped for being more than maxStaleness versions old. */
  stale?: number;
  /** With differential privacy: epsilon spent so far at delta, and the round's noise and clip. */
  privacy?: RoundPrivacy;
}

/** A round that did not get enough results (or learners), and what happens next. */
export interface RoundFailure {
  round: number;
  /** How many times in a row this round has failed. */
  attempt: number;
  /** Why, as one bounded line. */
  reason: string;
  /** The learners that failed in it, and why. */
  failures: ClientFailure[];
  /** ms until it runs again (sooner when a learner joins); undefined when the run stops with it. */
  retryInMs: number | undefined;
}

/**
 * ROUND_FAILED when fewer than `minResults` results came back, naming the first few failures (a
 * thousand failures make one bounded line).
 */
export function requireResults(
  round: number,
  outcome: GatherOutcome,
  asked: number,
  minResults: number,
  what: string,
): void {
  if (outcome.succeeded.length >= minResults) return;
  const { failures } = outcome;
  const named = failures.slice(0, 8).map((f) => `${f.client}: ${f.code} ${f.message}`);
  const more = failures.length > named.length ? `; ${failures.length - named.length} more` : '';
  const why = boundedText(`${named.join('; ')}${more}`);
  throw new OiafedError(
    'ROUND_FAILED',
    `round ${round}: ${outcome.succeeded.length} of ${asked} learners returned ${what} results, fewer than minResults ${minResults}${why ? ` (${why})` : ''}`,
  );
}
