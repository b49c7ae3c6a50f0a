import type { EventEmitter } from 'eventemitter3';
import { boundedText } from '../wire/bounded-text.js';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import type { CancelScope } from '../rpc/cancel-scope.js';
import type { Node } from '../rpc/node.js';
import type { StrategyState } from './aggregation.js';
import { Compression } from './codecs/trainer-codecs.js';
import { Cohort, type ClientActivity } from './cohort.js';
import type { Exclusions } from './exclusion.js';
import { BufferedTraining, type BufferedHost } from './fedbuff.js';
import type { FederationEvents } from './federation-events.js';
import type { ResolvedFederationOptions } from './federation-options.js';
import { learnerJoins } from './learner-waits.js';
import { deriveSeed, seededRandom, shuffle } from './random.js';
import type { ResultLimits } from './result-validation.js';
import type { ClientFailure, RoundSummary } from './round.js';
import { selectClients } from './selection.js';
import { evaluateTogether, trainTogether } from './sync-round.js';
import { trainSecurely } from './secure/secure-round.js';
import type { RoundStart, Strategy } from './strategy.js';
import { weightedMetrics } from './weighted-mean.js';
import { modelProblem, type Metrics, type Weights } from './weights.js';

/** The longest a failed round waits before it runs again. */
const MAX_RETRY_DELAY = 60_000;

/** Where a run stands: shared by the federation (which reports it) and its round runner (which moves it on). */
export class RunProgress {
  /** The round running or last finished. */
  round = 0;
  /** Rounds started, retries included: the clock exclusions are counted on. */
  attempts = 0;
  weights: Weights | undefined;
  history: RoundSummary[] = [];
}

/** What the round runner needs of its federation. */
export interface RoundRunnerParts {
  readonly node: Node;
  readonly strategy: Strategy;
  readonly options: ResolvedFederationOptions;
  readonly events: EventEmitter<FederationEvents>;
  readonly progress: RunProgress;
  readonly signal: AbortSignal;
  readonly calls: CancelScope;
  readonly activity: Map<NodeId, ClientActivity>;
  readonly limits: ResultLimits;
  readonly exclusions: Exclusions | undefined;
  /** Connected learners. */
  clients(): NodeId[];
  waitForClients(n: number, timeout?: number): Promise<NodeId[]>;
  /** Set while the run is paused. */
  paused(): Promise<void> | undefined;
}

/**
 * A round its federation does not start itself: a parent asks for it (an aggregator's parent, through
 * the aggregator's learner side), with the model to start from, the config to relay and the ms the
 * round may take.
 */
export interface DrivenRound {
  readonly weights: Weights;
  readonly config: Readonly<Record<string, unknown>>;
  /** ms from now the round may take, waiting for learners included (0: no limit). */
  readonly deadline: number;
}

/** What one attempt at a round came to. */
type Attempt =
  | { kind: 'finished'; summary: RoundSummary }
  | { kind: 'failed'; error: OiafedError; failures: ClientFailure[] }
  | { kind: 'stopped' };

/** Who contributed to one round attempt and who failed in it (for exclusion and ROUND_FAILED). */
interface AttemptLog {
  outcomes: Map<NodeId, boolean>;
  failures: ClientFailure[];
  /** Training results accepted so far (CLIENT_RESULT's count). */
  results: number;
}

/**
 * Runs a federation's rounds, one at a time: waits for learners, selects them (or keeps FedBuff's
 * pool at work), trains and evaluates through a cohort, retries a failed round as configured,
 * counts failures toward exclusion, and checkpoints each finished round.
 */
export class RoundRunner {
  readonly #parts: RoundRunnerParts;
  /** FedBuff's learners under way, across rounds; undefined for synchronous rounds. */
  readonly #buffered: BufferedTraining | undefined;
  /** Where FedBuff's cohorts report: the round attempt running now. */
  #log: AttemptLog = { outcomes: new Map(), failures: [], results: 0 };
  /** FedBuff's picks so far: each draws from its own seeded stream. */
  #picks = 0;
  /** Compressed updates, when configured: every cohort's training requests go through it. */
  readonly #compression: Compression | undefined;

  constructor(parts: RoundRunnerParts) {
    this.#parts = parts;
    const compression = parts.options.codecs;
    this.#compression = compression && new Compression(parts.node, compression);
    const schedule = parts.options.schedule ?? 'sync';
    this.#buffered = schedule === 'sync' ? undefined : new BufferedTraining(schedule, this.#bufferedHost());
  }

  /** FedBuff's learners under way and results not yet folded in, for the checkpoint. */
  scheduleState(): StrategyState | undefined {
    return this.#buffered?.state();
  }

  restoreSchedule(state: StrategyState): void {
    this.#buffered?.restore(state);
  }

  /** Cancels FedBuff's learners still at work (the run ended). */
  stop(reason: string): void {
    this.#buffered?.stop(reason);
  }

  /**
   * Round `round` until it finishes; undefined when the run was stopped during it. A failed attempt
   * is reported, then ends the run ('stop') or is tried again ('retry') after a delay that doubles
   * while the round keeps failing, cut short when a learner that is not left out joins.
   */
  async run(round: number): Promise<RoundSummary | undefined> {
    const o = this.#parts.options;
    for (let failed = 0; ;) {
      const attempt = await this.#attempt(round, failed);
      if (attempt.kind === 'stopped') return undefined;
      if (attempt.kind === 'finished') return attempt.summary;
      failed += 1;
      const retry = o.onRoundFailure === 'retry';
      const retryInMs = retry ? Math.min(o.retryDelay * 2 ** (failed - 1), MAX_RETRY_DELAY) : undefined;
      const reason = boundedText(attempt.error.message);
      this.#parts.events.emit('ROUND_FAILED', {
        round,
        attempt: failed,
        reason,
        failures: attempt.failures,
        retryInMs,
      });
      if (!retry) throw attempt.error;
      await this.#beforeRetry(retryInMs!);
      const paused = this.#parts.paused();
      if (paused) await paused;
      if (this.#parts.signal.aborted) return undefined;
    }
  }

  /**
   * One attempt at `round`, as `driven` says (no retry): the round's summary and the aggregate it
   * came to, undefined when the run was stopped during it; a failed attempt is reported
   * (ROUND_FAILED with no retry) and rejects with its ROUND_FAILED error.
   */
  async runDriven(
    round: number,
    driven: DrivenRound,
  ): Promise<{ summary: RoundSummary; weights: Weights } | undefined> {
    this.#parts.progress.weights = driven.weights;
    const attempt = await this.#attempt(round, 0, driven);
    if (attempt.kind === 'stopped') return undefined;
    if (attempt.kind === 'finished')
      return { summary: attempt.summary, weights: this.#parts.progress.weights };
    const reason = boundedText(attempt.error.message);
    this.#parts.events.emit('ROUND_FAILED', {
      round,
      attempt: 1,
      reason,
      failures: attempt.failures,
      retryInMs: undefined,
    });
    throw attempt.error;
  }

  /**
   * Federated evaluation of `weights` by every connected learner, for a parent that asks for it:
   * the example-weighted metrics and the examples they were measured on.
   */
  async evaluateDriven(
    round: number,
    driven: DrivenRound,
  ): Promise<{ metrics: Metrics; numExamples: number; failures: ClientFailure[] }> {
    const { strategy } = this.#parts;
    const log: AttemptLog = { outcomes: new Map(), failures: [], results: 0 };
    const cohort = this.#cohort(round, Date.now(), log, this.#parts.calls, driven.deadline);
    const start: RoundStart = { round, weights: driven.weights, config: driven.config };
    return evaluateTogether(strategy, start, cohort, this.#parts.clients());
  }

  /** Resolves after `ms`, when a selectable learner joins, or when the run is stopped. */
  #beforeRetry(ms: number): Promise<void> {
    const { node, signal, options, exclusions, progress } = this.#parts;
    const selectable = (client: { id: NodeId; role: string }) =>
      client.role === options.learnerRole && !exclusions?.isExcluded(client.id, progress.attempts + 1);
    return learnerJoins(node, signal, selectable, ms, (settle) => {
      settle.resolve();
    });
  }

  /** One attempt at round `round`, the `retry`-th retry of it (0: its first try). */
  async #attempt(round: number, retry: number, driven?: DrivenRound): Promise<Attempt> {
    const { options: o, progress, events, signal } = this.#parts;
    const waitFrom = Date.now();
    let connected: NodeId[];
    try {
      // A driven round waits for learners within its deadline, which it then starts from.
      connected = await this.#parts.waitForClients(
        o.minClients,
        driven && driven.deadline > 0 ? driven.deadline : undefined,
      );
    } catch (error) {
      if (signal.aborted) return { kind: 'stopped' };
      const why = `round ${round}: ${boundedText((error as Error).message)} (minClients ${o.minClients})`;
      return { kind: 'failed', error: new OiafedError('ROUND_FAILED', why, { cause: error }), failures: [] };
    }
    // The deadline runs from here: time spent waiting for learners is not the learners' to lose
    // (unless the round is a parent's, whose deadline counts from its call).
    const started = Date.now();
    const deadline = !driven
      ? o.deadline
      : driven.deadline > 0
        ? Math.max(1, driven.deadline - (started - waitFrom))
        : 0;
    const attempt = ++progress.attempts;
    const selectable = this.#selectable(connected, attempt);
    // FedBuff's learners are picked as others finish, not per round.
    const { clients, target } = this.#buffered
      ? { clients: [], target: this.#buffered.options.buffer }
      : selectClients(o.selection, selectable, round, o.seed, {
          retry,
          atLeast: o.minResults,
          overSelection: o.overSelection,
        });
    progress.round = round;
    events.emit('ROUND_STARTED', { round, clients: [...clients], target });
    const log: AttemptLog = { outcomes: new Map(), failures: [], results: 0 };
    this.#log = log;
    try {
      const config = driven?.config ?? o.config;
      const done = await this.#trainAndEvaluate(
        round,
        clients,
        target,
        connected,
        { started, deadline, config },
        log,
      );
      if (!done) return { kind: 'stopped' };
      this.#settle(round, attempt, log);
      progress.weights = done.weights;
      progress.history.push(done.summary);
      const schedule = this.scheduleState();
      await o.store?.save({
        round,
        weights: done.weights,
        history: progress.history,
        strategy: this.#parts.strategy.state(),
        ...(schedule ? { schedule } : {}),
      });
      events.emit('ROUND_FINISHED', done.summary);
      return { kind: 'finished', summary: done.summary };
    } catch (error) {
      if (signal.aborted) return { kind: 'stopped' };
      if (!(error instanceof OiafedError && error.code === 'ROUND_FAILED')) throw error;
      this.#settle(round, attempt, log);
      return { kind: 'failed', error, failures: log.failures };
    }
  }

  /** The round's training, then its evaluation; undefined when the run was stopped during them. */
  async #trainAndEvaluate(
    round: number,
    clients: NodeId[],
    target: number,
    connected: readonly NodeId[],
    { started, deadline, config }: { started: number; deadline: number; config: RoundStart['config'] },
    log: AttemptLog,
  ): Promise<{ summary: RoundSummary; weights: Weights } | undefined> {
    const { options: o, strategy, events, signal } = this.#parts;
    const start: RoundStart = { round, weights: this.#parts.progress.weights!, config };
    const cohort = this.#cohort(round, started, log, this.#parts.calls, deadline);
    await strategy.beforeRound?.(start, cohort, clients);
    const train = this.#buffered
      ? await this.#buffered.nextVersion(start)
      : o.secureAggregation
        ? await trainSecurely(strategy, start, cohort, clients, {
            minResults: o.minResults,
            target,
            secure: o.secureAggregation,
          })
        : await trainTogether(strategy, start, cohort, clients, { target, minResults: o.minResults, signal });
    if (signal.aborted) return undefined;
    const { aggregate, parts } = train;
    for (const { client, reason } of aggregate.rejected)
      events.emit('CLIENT_REJECTED', { round, client, reason: boundedText(reason) });
    const weights = strategy.update(start, aggregate);
    // The running mean refuses updates that would overflow it; this is for every other way there
    // (a server optimiser's step, a strategy of the user's): a model that is not finite would fail
    // every learner trained from it, so the round fails and the model stays as it was.
    const problem = modelProblem(weights);
    if (problem !== undefined)
      throw new OiafedError(
        'ROUND_FAILED',
        `round ${round}: the new model is not valid (${problem}); it stays as it was`,
      );
    const trainMs = Date.now() - started;
    const evalStarted = Date.now();
    const evalMetrics: Metrics = {};
    const failures = [...train.failures];
    if (o.federatedEvaluation !== undefined && o.federatedEvaluation !== false) {
      const evaluators =
        o.federatedEvaluation === true
          ? clients
          : selectClients(o.federatedEvaluation, connected, round, o.seed, { stream: 'evaluate' }).clients;
      const fed = await evaluateTogether(strategy, { round, weights, config }, cohort, evaluators);
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await
      if (signal.aborted) return undefined;
      failures.push(...fed.failures);
      for (const [k, v] of Object.entries(fed.metrics)) evalMetrics[`federated_${k}`] = v;
    }
    if (o.evaluate) Object.assign(evalMetrics, await o.evaluate(weights, round));
    const summary: RoundSummary = {
      round,
      clients: [...train.clients],
      results: parts.length,
      numExamples: parts.reduce((n, p) => n + p.numExamples, 0),
      failures,
      rejected: aggregate.rejected.map((r) => ({ client: r.client, reason: boundedText(r.reason) })),
      trainMetrics: weightedMetrics(parts),
      evalMetrics,
      timings: { trainMs, evaluateMs: Date.now() - evalStarted, totalMs: Date.now() - started },
      ...(this.#buffered ? { stale: train.stale } : {}),
      ...(aggregate.privacy ? { privacy: aggregate.privacy } : {}),
    };
    return { summary, weights };
  }

  #selectable(connected: readonly NodeId[], attempt: number): NodeId[] {
    const { exclusions, options } = this.#parts;
    return exclusions ? exclusions.selectable(connected, attempt, options.minClients) : [...connected];
  }

  /** Counts the attempt's outcomes toward exclusion and announces who is now left out. */
  #settle(round: number, attempt: number, log: AttemptLog): void {
    const exclusions = this.#parts.exclusions;
    if (!exclusions) return;
    for (const { client, failures, rounds } of exclusions.record(attempt, log.outcomes)) {
      this.#parts.events.emit('CLIENT_EXCLUDED', { round, client, failures, rounds });
    }
    const registry = this.#parts.node.registry;
    exclusions.forget((id) => registry.get(id)?.state === 'connected', attempt);
  }

  #cohort(
    round: number,
    started: number,
    log: AttemptLog,
    calls: CancelScope = this.#parts.calls,
    deadline = this.#parts.options.deadline,
  ): Cohort {
    const { node, signal, limits, activity, events } = this.#parts;
    return new Cohort({
      node,
      round,
      timeLeft: () => (deadline > 0 ? Math.max(1, started + deadline - Date.now()) : undefined),
      calls: calls.signal,
      signal,
      limits,
      activity,
      ...(this.#compression ? { compression: this.#compression } : {}),
      // FedBuff's cohorts outlive their version: a result counts toward the attempt running now.
      trained: (info) => events.emit('CLIENT_RESULT', { ...info, results: ++this.#log.results }),
      outcome: (client, failure) => {
        log.outcomes.set(client, failure === undefined && log.outcomes.get(client) !== false);
        if (!failure) return;
        log.failures.push(failure);
        events.emit('CLIENT_FAILED', { ...failure, round });
      },
    });
  }

  /** What FedBuff's pool asks of the run. */
  #bufferedHost(): BufferedHost {
    const { node, strategy, signal, options, progress } = this.#parts;
    return {
      strategy,
      signal,
      cohort: (round, calls) => this.#cohort(round, Date.now(), this.#log, calls),
      pick: (busy, count) => {
        const idle = this.#selectable(this.#parts.clients(), progress.attempts)
          .filter((id) => !busy.has(id))
          .sort();
        return shuffle(idle, seededRandom(deriveSeed(options.seed, ++this.#picks))).slice(0, count);
      },
      learnerJoined: () =>
        learnerJoins(
          node,
          signal,
          (client) => client.role === options.learnerRole,
          options.clientWait,
          (settle) => {
            settle.reject(
              new OiafedError('ROUND_FAILED', `no learner to train within ${options.clientWait} ms`),
            );
          },
        ),
    };
  }
}
