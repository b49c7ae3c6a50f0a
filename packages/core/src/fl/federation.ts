import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { CancelScope } from '../rpc/cancel-scope.js';
import type { Node } from '../rpc/node.js';
import type { ClientActivity } from './cohort.js';
import { DEFAULT_EXCLUDE, Exclusions } from './exclusion.js';
import type {
  FederationEvents,
  FederationResult,
  FederationState,
  FederationStatus,
  FederationTelemetry,
  TelemetryQuery,
} from './federation-events.js';
import {
  resolveFederationOptions,
  type FederationOptions,
  type ResolvedFederationOptions,
} from './federation-options.js';
import { waitForLearners } from './learner-waits.js';
import { RoundRunner, RunProgress, type DrivenRound } from './round-runner.js';
import type { RoundSummary } from './round.js';
import { announceRunEnd } from './run-end.js';
import { startingModel } from './starting-model.js';
import { Telemetry } from './telemetry.js';
import { FedAvg } from './strategies/fedavg.js';
import { DifferentialPrivacy } from './privacy/differential-privacy.js';
import { Strategy } from './strategy.js';
import type { ClientFailure } from './round.js';
import type { Metrics, Weights } from './weights.js';

export type { ClientActivity } from './cohort.js';
export type {
  ClientStatus,
  FederationEvents,
  FederationResult,
  FederationState,
  FederationStatus,
  FederationTelemetry,
  RoundPoint,
  TelemetryQuery,
} from './federation-events.js';
export type { FederationOptions } from './federation-options.js';
export type { DrivenRound } from './round-runner.js';

/**
 * The coordinator and single entry point of a run: it starts, pauses, resumes and stops it,
 * resumes it from a checkpoint, finds the starting model, and reports. Each round is run by the
 * RoundRunner (selection, training through a cohort, evaluation, retries, checkpoints).
 */
export class Federation {
  readonly events = new EventEmitter<FederationEvents>();
  readonly #o: ResolvedFederationOptions;
  readonly #node: Node;
  readonly #strategy: Strategy;
  readonly #exclusions: Exclusions | undefined;
  readonly #activity = new Map<NodeId, ClientActivity>();
  readonly #progress = new RunProgress();
  readonly #rounds: RoundRunner;
  readonly #telemetry: Telemetry;
  #state: FederationState = 'idle';
  #startedAt: number | undefined;
  /** For the user's code (Cohort.signal): a real AbortSignal. */
  readonly #abort = new AbortController();
  /** For the federation's own calls: thousands share it, and an EventTarget would pay O(n) per call. */
  readonly #calls = new CancelScope();
  #resume: (() => void) | undefined;
  #paused: Promise<void> | undefined;
  /** False after `stop(reason, { final: false })`: the learners are not told the run ended. */
  #final = true;
  /** A round a parent asked for is running (runRound, evaluateRound). */
  #busy = false;

  constructor(options: FederationOptions) {
    const o = (this.#o = resolveFederationOptions(options));
    this.#node = options.node;
    this.#strategy = options.strategy ?? new FedAvg();
    const strategy = this.#strategy;
    if (
      o.secureAggregation &&
      strategy.aggregation !== Strategy.prototype.aggregation &&
      strategy.aggregateSecureSum === undefined
    ) {
      throw new OiafedError(
        'INVALID_CONFIG',
        `federation.secureAggregation cannot run with strategy ${strategy.name}: secure aggregation reveals only the sum of the updates, and this strategy aggregates them otherwise (robust strategies need each update)`,
      );
    }
    if (o.secureAggregation && strategy instanceof DifferentialPrivacy && strategy.options.mode === 'central')
      throw new OiafedError(
        'INVALID_CONFIG',
        'federation.secureAggregation cannot run with central privacy: the trainer would clip and noise updates it never sees (use privacy.mode distributed)',
      );
    this.#progress.weights = options.initialWeights;
    const exclude = options.exclude ?? DEFAULT_EXCLUDE;
    this.#exclusions = exclude === false ? undefined : new Exclusions(exclude);
    this.#rounds = new RoundRunner({
      node: this.#node,
      strategy: this.#strategy,
      options: o,
      events: this.events,
      progress: this.#progress,
      signal: this.#abort.signal,
      calls: this.#calls,
      activity: this.#activity,
      limits: { maxExamples: o.maxExamples },
      exclusions: this.#exclusions,
      clients: () => this.clients(),
      waitForClients: (n, timeout) => this.waitForClients(n, timeout),
      paused: () => this.#paused,
    });
    this.#telemetry = new Telemetry({
      node: this.#node,
      events: this.events,
      learnerRole: o.learnerRole,
      activity: this.#activity,
      exclusions: this.#exclusions,
      nextAttempt: () => this.#progress.attempts + 1,
    });
  }

  /** The algorithm this run uses. */
  get strategy(): Strategy {
    return this.#strategy;
  }

  get state(): FederationState {
    return this.#state;
  }

  /** The round running or last finished. */
  get round(): number {
    return this.#progress.round;
  }

  /** The current global model. */
  get weights(): Weights | undefined {
    return this.#progress.weights;
  }

  /** The current global model; before the first round, the starting model `start()` would find (then kept). */
  async currentWeights(): Promise<Weights> {
    return (this.#progress.weights ??= await this.#startingModel());
  }

  /** Replaces the global model (between rounds). */
  setWeights(weights: Weights): void {
    this.#progress.weights = weights;
  }

  get history(): readonly RoundSummary[] {
    return this.#progress.history;
  }

  /** Connected learners. */
  clients(): NodeId[] {
    return this.#node.registry.connected(this.#o.learnerRole);
  }

  /** Resolves with the connected learners once there are at least `n`; rejects with TIMEOUT after `timeout` ms. */
  waitForClients(n: number, timeout = this.#o.clientWait): Promise<NodeId[]> {
    return waitForLearners(this.#node, this.#abort.signal, () => this.clients(), n, timeout, this.#waiting);
  }

  readonly #waiting = (joined: number, needed: number) =>
    this.events.emit('WAITING_FOR_LEARNERS', { joined, needed });

  /** Runs the rounds; resolves when they are done, the run is stopped, or a stop condition holds. */
  async start(): Promise<FederationResult> {
    const pausedBeforeStart = this.#state === 'paused' && this.#startedAt === undefined;
    if (this.#state !== 'idle' && !pausedBeforeStart)
      throw new OiafedError('INVALID_CONFIG', `federation already ${this.#state}`);
    this.#startedAt = Date.now();
    // Paused before it started: it starts paused, and runs once resumed.
    if (!pausedBeforeStart) this.#setState('running');
    const progress = this.#progress;
    try {
      if (this.#paused) await this.#paused;
      await this.#restore();
      progress.weights ??= await this.#startingModel();
      let reason: FederationResult['reason'] = 'completed';
      while (progress.round < this.#o.rounds) {
        if (this.#paused) await this.#paused;
        if (this.#abort.signal.aborted) break;
        const summary = await this.#rounds.run(progress.round + 1);
        if (!summary) break;
        if (summary.privacy?.exhausted) {
          reason = 'budget';
          break;
        }
        if (
          this.#strategy.shouldStop(summary, progress.history) ||
          this.#o.stopWhen?.(summary, progress.history)
        ) {
          reason = 'condition';
          break;
        }
      }
      if (this.#abort.signal.aborted) reason = 'stopped';
      this.#rounds.stop(`run ${reason}`);
      this.#setState(reason === 'stopped' ? 'stopped' : 'finished');
      return this.#result(reason);
    } catch (error) {
      this.#rounds.stop('run ended');
      if (this.#abort.signal.aborted) {
        this.#setState('stopped');
        return this.#result('stopped');
      }
      this.#setState('failed');
      if (this.#final)
        void announceRunEnd(this.#node, this.#o.learnerRole, { reason: 'failed', rounds: this.#lastRound() });
      throw error;
    }
  }

  /**
   * One round its parent asks for (an aggregator's rounds: see `serveAggregator`), instead of rounds
   * `start()` runs: its learners train from `driven.weights` with `driven.config` within
   * `driven.deadline` ms, and it resolves with the round's summary and the strategy's aggregate of
   * their updates (no retry: a round with too few results rejects with ROUND_FAILED). One at a time.
   */
  async runRound(round: number, driven: DrivenRound): Promise<{ summary: RoundSummary; weights: Weights }> {
    const done = await this.#driven(() => this.#rounds.runDriven(round, driven));
    if (!done) throw new OiafedError('ABORTED', `round ${round}: the federation was stopped`);
    return done;
  }

  /** Federated evaluation of `driven.weights` by the connected learners, for a parent that asks for it. */
  evaluateRound(
    round: number,
    driven: DrivenRound,
  ): Promise<{ metrics: Metrics; numExamples: number; failures: ClientFailure[] }> {
    return this.#driven(() => this.#rounds.evaluateDriven(round, driven));
  }

  /** Runs a parent's request, one at a time, while the run is neither started by `start()` nor over. */
  async #driven<T>(work: () => Promise<T>): Promise<T> {
    if (this.#startedAt !== undefined || this.#abort.signal.aborted)
      throw new OiafedError('INVALID_CONFIG', `a federation ${this.#state} runs no round for a parent`);
    if (this.#busy) throw new OiafedError('OVERLOADED', 'a round for the parent is already running');
    if (this.#o.schedule !== undefined && this.#o.schedule !== 'sync')
      throw new OiafedError(
        'INVALID_CONFIG',
        'FedBuff runs its own versions: it cannot run rounds for a parent',
      );
    if (this.#o.secureAggregation)
      throw new OiafedError(
        'INVALID_CONFIG',
        'secure aggregation reveals the sum to the trainer that asked: it cannot run at an aggregator',
      );
    this.#busy = true;
    this.#setState('running');
    try {
      return await work();
    } finally {
      this.#busy = false;
      if (this.#state === 'running') this.#setState('idle');
    }
  }

  /**
   * Ends the run: the round in flight is abandoned (its calls cancelled), `start()` resolves, and
   * the learners are told the run stopped. With `final: false` it is an interruption, to resume
   * later from the checkpoint (Ctrl-C on `oiafed serve`): the learners are not told, and keep
   * reconnecting until a trainer is back.
   */
  stop(reason = 'stopped by the user', options: { final?: boolean } = {}): void {
    if (this.#state === 'finished' || this.#state === 'stopped' || this.#state === 'failed') return;
    this.#final = options.final ?? true;
    if (this.#state !== 'idle') this.#setState('stopping');
    const error = new OiafedError('ABORTED', reason);
    this.#abort.abort(error);
    this.#calls.abort(error);
    this.#rounds.stop(reason);
    this.#resume?.();
  }

  /** Lets the round in flight finish, then waits for `resume()` before starting the next. */
  pause(): void {
    if (this.#paused || (this.#state !== 'running' && this.#state !== 'idle')) return;
    this.#paused = new Promise((resolve) => (this.#resume = resolve));
    this.#setState('paused');
  }

  resume(): void {
    if (!this.#paused) return;
    const resume = this.#resume!;
    this.#paused = undefined;
    this.#resume = undefined;
    this.#setState(this.#startedAt === undefined ? 'idle' : 'running');
    resume();
  }

  /** Where the run stands, with every learner the registry holds (see `telemetry()` for a bounded view). */
  status(): FederationStatus {
    const progress = this.#progress;
    const telemetry = this.#telemetry;
    return {
      ...this.#standing(),
      clients: this.#node.registry.list({ role: this.#o.learnerRole }).map((c) => telemetry.client(c)),
      lastRound: progress.history[progress.history.length - 1],
    };
  }

  /**
   * The run at a glance, bounded whatever the number of learners: the status with one point per
   * finished round after `query.since`, learner counts, and the rows of the first `query.rows`
   * learners (default 50). TELEMETRY fires when it changes.
   */
  telemetry(query: TelemetryQuery = {}): FederationTelemetry {
    const { rows, connected, departed } = this.#telemetry.clients(query);
    return {
      ...this.#standing(),
      strategy: this.#strategy.name,
      learners: { connected, departed, busy: this.#activity.size },
      clients: rows,
      points: this.#telemetry.points(this.#progress.history, query.since),
    };
  }

  #standing(): Pick<FederationStatus, 'state' | 'round' | 'rounds' | 'startedAt' | 'elapsedMs'> {
    return {
      state: this.#state,
      round: this.#progress.round,
      rounds: this.#o.rounds,
      startedAt: this.#startedAt,
      elapsedMs: this.#startedAt === undefined ? 0 : Date.now() - this.#startedAt,
    };
  }

  /** The last round finished (a round abandoned by stop() does not count). */
  #lastRound(): number {
    const history = this.#progress.history;
    return history[history.length - 1]?.round ?? 0;
  }

  #result(reason: FederationResult['reason']): FederationResult {
    const rounds = this.#lastRound();
    if (this.#final) void announceRunEnd(this.#node, this.#o.learnerRole, { reason, rounds });
    const { weights, history } = this.#progress;
    return {
      reason,
      rounds,
      weights: weights!,
      history: [...history],
      elapsedMs: Date.now() - this.#startedAt!,
    };
  }

  #setState(state: FederationState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.events.emit('STATE_CHANGED', state);
  }

  async #restore(): Promise<void> {
    const checkpoint = await this.#o.store?.load();
    if (!checkpoint) return;
    const progress = this.#progress;
    progress.round = checkpoint.round;
    progress.weights = checkpoint.weights;
    progress.history = checkpoint.history;
    this.#strategy.restore(checkpoint.strategy ?? {});
    if (checkpoint.schedule) this.#rounds.restoreSchedule(checkpoint.schedule);
  }

  #startingModel(): Promise<Weights> {
    const { minClients, clientWait, learnerRole } = this.#o;
    const signal = this.#abort.signal;
    return startingModel({
      node: this.#node,
      strategy: this.#strategy,
      minClients,
      clientWait,
      signal,
      calls: this.#calls.signal,
      waitFor: (keep, n, ms) =>
        waitForLearners(
          this.#node,
          signal,
          () => keep(this.#node.registry.connected(learnerRole)),
          n,
          ms,
          this.#waiting,
        ),
      failed: (failure) => this.events.emit('CLIENT_FAILED', { ...failure, round: 0 }),
    });
  }
}
