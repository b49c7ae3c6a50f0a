import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';

/** When a learner that keeps failing is left out of selection, and for how long. */
export interface ExcludeOptions {
  /** Rounds in a row a learner must fail (throw, time out, return an invalid result) to be left out. */
  after: number;
  /**
   * Rounds it is then left out of selection; after them it gets another chance, and failing that
   * one too doubles the time (up to 1024 times `rounds`). 0: never left out.
   */
  rounds: number;
}

export const DEFAULT_EXCLUDE: Readonly<ExcludeOptions> = { after: 3, rounds: 5 };

/** One learner left out of selection. */
export interface Exclusion {
  client: NodeId;
  /** Rounds it failed in a row. */
  failures: number;
  /** Round attempts it is left out of. */
  rounds: number;
  /** It is selectable again from this round attempt on (see `Exclusions`). */
  until: number;
}

interface Streak {
  failures: number;
  until: number;
}

/**
 * Who has failed how many rounds in a row, and who is left out of selection because of it, so that
 * learners that never train (sleepers that only answer pings) cannot make every round wait for its
 * deadline. Time is counted in round attempts (a retried round counts again), so no clock is needed
 * and a run selects alike whatever the speed of the machine. Kept by id: a learner that reconnects
 * is the same learner.
 */
export class Exclusions {
  readonly #after: number;
  readonly #rounds: number;
  readonly #records = new Map<NodeId, Streak>();

  constructor(options: ExcludeOptions) {
    if (!Number.isInteger(options.after) || options.after < 1)
      throw invalid('exclude.after', 'a positive integer', options.after);
    if (!Number.isInteger(options.rounds) || options.rounds < 0)
      throw invalid('exclude.rounds', 'an integer >= 0', options.rounds);
    this.#after = options.after;
    this.#rounds = options.rounds;
  }

  /** True while `client` is left out of the selection of round attempt `attempt`. */
  isExcluded(client: NodeId, attempt: number): boolean {
    const record = this.#records.get(client);
    return record !== undefined && record.until > attempt;
  }

  /** Rounds in a row `client` has failed (0 after a success). */
  failures(client: NodeId): number {
    return this.#records.get(client)?.failures ?? 0;
  }

  /** Rounds attempts, from `attempt` on, that `client` is still left out of (0: selectable). */
  roundsLeft(client: NodeId, attempt: number): number {
    const record = this.#records.get(client);
    return record === undefined ? 0 : Math.max(0, record.until - attempt);
  }

  /**
   * Takes the outcomes of round attempt `attempt` (true: the learner contributed; false: it
   * failed) and returns the learners left out from the next attempt on. One more failure after an
   * exclusion ends excludes again, for twice as long: the other chance is one round, and a learner
   * that never trains costs a run fewer and fewer rounds.
   */
  record(attempt: number, outcomes: ReadonlyMap<NodeId, boolean>): Exclusion[] {
    const excluded: Exclusion[] = [];
    for (const [client, ok] of outcomes) {
      if (ok) {
        this.#records.delete(client);
        continue;
      }
      const record = this.#records.get(client) ?? { failures: 0, until: 0 };
      record.failures += 1;
      this.#records.set(client, record);
      if (record.failures >= this.#after && this.#rounds > 0) {
        const rounds = this.#rounds * 2 ** Math.min(record.failures - this.#after, 10);
        record.until = attempt + 1 + rounds;
        excluded.push({ client, failures: record.failures, rounds, until: record.until });
      }
    }
    return excluded;
  }

  /** Lets `client` be selected again now (a round needs it to reach minClients). */
  readmit(client: NodeId): void {
    const record = this.#records.get(client);
    if (record) record.until = 0;
  }

  /** Forgets learners that are gone and no longer left out: the record stays as small as the federation. */
  forget(isPresent: (client: NodeId) => boolean, attempt: number): void {
    for (const [client, record] of this.#records)
      if (record.until <= attempt && !isPresent(client)) this.#records.delete(client);
  }

  /**
   * Who round attempt `attempt` may select of `connected`: those not left out; when fewer than
   * `least` remain, the left-out ones whose time is nearest its end are taken back (by id on a
   * tie), as a round that can run beats waiting for learners that may never come.
   */
  selectable(connected: readonly NodeId[], attempt: number, least: number): NodeId[] {
    const eligible = connected.filter((id) => !this.isExcluded(id, attempt));
    const missing = least - eligible.length;
    if (missing <= 0) return eligible;
    const soonest = connected
      .filter((id) => this.isExcluded(id, attempt))
      .sort((a, b) => this.roundsLeft(a, attempt) - this.roundsLeft(b, attempt) || (a < b ? -1 : 1))
      .slice(0, missing);
    for (const id of soonest) this.readmit(id);
    return [...eligible, ...soonest];
  }
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError(
    'INVALID_CONFIG',
    `federation.${field} must be ${expected} (got ${JSON.stringify(got)})`,
  );
}
