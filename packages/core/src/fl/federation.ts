import { EventEmitter } from 'eventemitter3';
import { boundedText } from '../wire/bounded-text.js';
import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { CancelScope } from '../rpc/cancel-scope.js';
import type { Node } from '../rpc/node.js';
import type { ClientInfo, ClientState } from '../membership/registry.js';
import { onceWithTimeout, settleWithin } from '../wire/signals.js';
import type { CheckpointStore } from './checkpoint.js';
import { Cohort, failureOf, type ClientActivity, type GatherOutcome } from './cohort.js';
import { DEFAULT_EXCLUDE, Exclusions, type ExcludeOptions } from './exclusion.js';
import { BufferedTraining, type FedBuffOptions, type TrainingOutcome } from './fedbuff.js';
import { deriveSeed, seededRandom, shuffle } from './random.js';
import { FedAvg } from './strategies/fedavg.js';
import { DEFAULT_MAX_EXAMPLES, type ResultLimits } from './result-validation.js';
import type { ClientFailure, RoundFailure, RoundSummary } from './round.js';
import { announceRunEnd } from './run-end.js';
import { selectClients, type Selection } from './selection.js';
import type { ClientEvaluation, RoundStart, Strategy } from './strategy.js';
import { weightedMetrics } from './weighted-mean.js';
import { modelProblem, type Metrics, type Weights } from './weights.js';

export type { ClientActivity } from './cohort.js';

export interface FederationOptions {
  /** The trainer's node; learners join it (in memory, from workers, over WebSocket or WebRTC). */
  node: Node;
  /** The algorithm. Default: FedAvg. */
  strategy?: Strategy;
  /**
   * How rounds are driven. 'sync' (default): each round selects learners, waits for them (or the
   * deadline), aggregates. FedBuff: `concurrency` learners train at all times and every `buffer`
   * results make the next round's model (a "round" is a model version); `selection`, minResults
   * and overSelection do not apply, `deadline` bounds each learner's training.
   */
  schedule?: 'sync' | ({ name: 'fedbuff' } & FedBuffOptions);
  /** Rounds to run (the run may stop earlier through `stopWhen` or `strategy.shouldStop`). */
  rounds: number;
  /** Learners a round waits to be connected before it selects. Default 1. */
  minClients?: number;
  /**
   * Results a round needs: fewer fails it. A round also selects at least this many learners (as
   * Flower's min_fit_clients does), so a fraction never selects fewer than the round needs. At most
   * `minClients`, since a round may start with only that many learners. Default `minClients`.
   */
  minResults?: number;
  /** Which connected learners train each round. Default 'all'. */
  selection?: Selection;
  /**
   * Over-selection (Bonawitz et al. 2019, as Google's production FL does): a round asks
   * ceil(selected x factor) learners and closes as soon as the selected count have answered, cancelling
   * the rest, since some learners always drop. Default 1 (none).
   */
  overSelection?: number;
  /** Seeds random selection, so runs (and resumed runs) select alike. Default 0. */
  seed?: number;
  /** ms a round may take; learners still working then count as failed (TIMEOUT). 0: no deadline. */
  deadline?: number;
  /** ms a round waits for `minClients` learners to be connected before it fails. Default 60 s. */
  clientWait?: number;
  /** Role of the nodes that are learners. Default 'learner'. */
  learnerRole?: string;
  /** Hyper-parameters every learner receives as `params.config` (epochs, batchSize, lr...). */
  config?: Record<string, unknown>;
  /** The starting global model; default: the first learner's `getWeights()`. */
  initialWeights?: Weights;
  /** Central evaluation of the global model after each round (e.g. test accuracy on held-out data). */
  evaluate?: (weights: Weights, round: number) => Metrics | Promise<Metrics>;
  /**
   * Also let learners evaluate the new global model on their own data: `true` asks the round's
   * training learners; a Selection samples the connected learners afresh (seeded like training).
   * Default false.
   */
  federatedEvaluation?: boolean | Selection;
  /** Where to save a checkpoint after every round; `start()` resumes from it when it holds one. */
  store?: CheckpointStore;
  /** True ends the run after the round just finished. */
  stopWhen?: (summary: RoundSummary, history: readonly RoundSummary[]) => boolean;
  /**
   * What a failed round (fewer than minResults results, or fewer than minClients learners within
   * `clientWait`) does. Both report it (ROUND_FAILED). 'stop': `start()` rejects with its
   * ROUND_FAILED error. 'retry': the round runs again after `retryDelay`, or as soon as a learner
   * joins, until the run completes or is stopped: what a server wants. Default 'stop'.
   */
  onRoundFailure?: 'retry' | 'stop';
  /** ms before a failed round runs again; it doubles while the round keeps failing, up to 60 s. Default 1000. */
  retryDelay?: number;
  /** Largest `numExamples` a learner's result may claim; more is an INVALID_RESULT. Default 1e9. */
  maxExamples?: number;
  /**
   * Learners that fail `after` rounds in a row (throw, time out, return invalid results) are left
   * out of selection for the next `rounds` rounds, then get another chance (failing it too leaves
   * them out twice as long); a round that would otherwise have fewer than minClients learners
   * takes them back at once. Rounds count attempts: a retried round counts again. Default
   * { after: 3, rounds: 5 }; false: never.
   */
  exclude?: ExcludeOptions | false;
}

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

/** The longest a failed round waits before it runs again. */
const MAX_RETRY_DELAY = 60_000;

/** What one attempt at a round came to. */
type Attempt =
  | { kind: 'finished'; summary: RoundSummary }
  | { kind: 'failed'; error: OiafedError; failures: ClientFailure[] }
  | { kind: 'stopped' };

/** Who contributed to one round attempt and who failed in it (for exclusion and ROUND_FAILED). */
interface AttemptLog {
  outcomes: Map<NodeId, boolean>;
  failures: ClientFailure[];
}

/**
 * The coordinator and single entry point of a run: it waits for learners, selects them, runs the
 * trainer's rounds with deadlines and failure tolerance, validates every result, evaluates,
 * checkpoints, and reports.
 */
export class Federation {
  readonly events = new EventEmitter<FederationEvents>();
  readonly #o: Required<
    Pick<
      FederationOptions,
      | 'rounds'
      | 'minClients'
      | 'minResults'
      | 'selection'
      | 'overSelection'
      | 'seed'
      | 'deadline'
      | 'clientWait'
      | 'learnerRole'
      | 'config'
      | 'onRoundFailure'
      | 'retryDelay'
      | 'maxExamples'
    >
  > &
    FederationOptions;
  readonly #node: Node;
  readonly #strategy: Strategy;
  /** FedBuff's learners under way, across rounds; undefined for synchronous rounds. */
  readonly #buffered: BufferedTraining | undefined;
  /** Where FedBuff's cohorts report: the round attempt running now. */
  #log: AttemptLog = { outcomes: new Map(), failures: [] };
  /** FedBuff's picks so far: each draws from its own seeded stream. */
  #picks = 0;
  readonly #limits: ResultLimits;
  readonly #exclusions: Exclusions | undefined;
  readonly #activity = new Map<NodeId, ClientActivity>();
  #state: FederationState = 'idle';
  #round = 0;
  /** Rounds started, retries included: the clock exclusions are counted on. */
  #attempts = 0;
  #weights: Weights | undefined;
  #history: RoundSummary[] = [];
  #startedAt: number | undefined;
  /** For the user's code (RoundContext.signal): a real AbortSignal. */
  #abort = new AbortController();
  /** For the federation's own calls: thousands share it, and an EventTarget would pay O(n) per call. */
  readonly #calls = new CancelScope();
  #resume: (() => void) | undefined;
  #paused: Promise<void> | undefined;
  /** False after `stop(reason, { final: false })`: the learners are not told the run ended. */
  #final = true;

  constructor(options: FederationOptions) {
    this.#o = {
      minClients: 1,
      selection: 'all',
      seed: 0,
      deadline: 0,
      clientWait: 60_000,
      learnerRole: 'learner',
      config: {},
      onRoundFailure: 'stop',
      retryDelay: 1_000,
      maxExamples: DEFAULT_MAX_EXAMPLES,
      overSelection: 1,
      ...options,
      minResults: options.minResults ?? options.minClients ?? 1,
    };
    const o = this.#o;
    if (!Number.isInteger(o.rounds) || o.rounds < 1) throw invalid('rounds', 'a positive integer', o.rounds);
    if (!Number.isInteger(o.minClients) || o.minClients < 1)
      throw invalid('minClients', 'a positive integer', o.minClients);
    if (!Number.isInteger(o.minResults) || o.minResults < 1)
      throw invalid('minResults', 'a positive integer', o.minResults);
    if (o.minResults > o.minClients) {
      throw new OiafedError(
        'INVALID_CONFIG',
        `federation.minResults (${o.minResults}) is more than federation.minClients (${o.minClients}): a round that starts with minClients learners could never have minResults results`,
      );
    }
    if (!(o.overSelection >= 1) || !Number.isFinite(o.overSelection))
      throw invalid('overSelection', 'a number >= 1', o.overSelection);
    if (!(o.deadline >= 0)) throw invalid('deadline', 'a number of ms >= 0', o.deadline);
    if (typeof o.selection === 'object' && !(o.selection.fraction > 0 && o.selection.fraction <= 1))
      throw invalid('fraction', 'in (0, 1]', o.selection.fraction);
    if (!['retry', 'stop'].includes(o.onRoundFailure))
      throw invalid('onRoundFailure', "'retry' or 'stop'", o.onRoundFailure);
    if (!(o.retryDelay >= 0) || !Number.isFinite(o.retryDelay))
      throw invalid('retryDelay', 'a number of ms >= 0', o.retryDelay);
    if (!Number.isSafeInteger(o.maxExamples) || o.maxExamples < 1)
      throw invalid('maxExamples', 'a positive integer', o.maxExamples);
    this.#node = options.node;
    this.#strategy = options.strategy ?? new FedAvg();
    const schedule = options.schedule ?? 'sync';
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- options may come from JavaScript
    if (schedule !== 'sync' && schedule.name !== 'fedbuff')
      throw invalid('schedule', "'sync' or { name: 'fedbuff', concurrency, buffer }", schedule);
    this.#buffered = schedule === 'sync' ? undefined : new BufferedTraining(schedule, this.#bufferedHost());
    this.#weights = options.initialWeights;
    this.#limits = { maxExamples: o.maxExamples };
    const exclude = options.exclude ?? DEFAULT_EXCLUDE;
    this.#exclusions = exclude === false ? undefined : new Exclusions(exclude);
  }

  /** The algorithm this run uses. */
  get strategy(): Strategy {
    return this.#strategy;
  }

  get state(): FederationState {
    return this.#state;
  }

  /** The current global model. */
  get weights(): Weights | undefined {
    return this.#weights;
  }

  /** Replaces the global model (between rounds). */
  setWeights(weights: Weights): void {
    this.#weights = weights;
  }

  get history(): readonly RoundSummary[] {
    return this.#history;
  }

  /** Connected learners. */
  clients(): NodeId[] {
    return this.#node.registry.connected(this.#o.learnerRole);
  }

  /** Resolves with the connected learners once there are at least `n`; rejects with TIMEOUT after `timeout` ms. */
  waitForClients(n: number, timeout = this.#o.clientWait): Promise<NodeId[]> {
    return this.#waitFor(() => this.clients(), n, timeout);
  }

  /** Resolves with `candidates()` once it holds at least `n`, checked as learners register. */
  #waitFor(candidates: () => NodeId[], n: number, timeout: number): Promise<NodeId[]> {
    const now = candidates();
    if (now.length >= n) return Promise.resolve(now);
    return onceWithTimeout<NodeId[]>(
      timeout,
      () => `only ${candidates().length} of ${n} learners connected`,
      (settle) => {
        const events = this.#node.events;
        const signal = this.#abort.signal;
        const check = () => {
          const found = candidates();
          if (found.length >= n) settle.resolve(found);
        };
        const onAbort = () =>
          settle.reject(new OiafedError('ABORTED', 'federation stopped while waiting for learners'));
        events.on('CLIENT_REGISTERED', check);
        signal.addEventListener('abort', onAbort, { once: true });
        return () => {
          events.off('CLIENT_REGISTERED', check);
          signal.removeEventListener('abort', onAbort);
        };
      },
    );
  }

  /** Runs the rounds; resolves when they are done, the run is stopped, or a stop condition holds. */
  async start(): Promise<FederationResult> {
    const pausedBeforeStart = this.#state === 'paused' && this.#startedAt === undefined;
    if (this.#state !== 'idle' && !pausedBeforeStart)
      throw new OiafedError('INVALID_CONFIG', `federation already ${this.#state}`);
    this.#startedAt = Date.now();
    // Paused before it started: it starts paused, and runs once resumed.
    if (!pausedBeforeStart) this.#setState('running');
    try {
      if (this.#paused) await this.#paused;
      await this.#restore();
      this.#weights ??= await this.#initialWeights();
      let reason: FederationResult['reason'] = 'completed';
      while (this.#round < this.#o.rounds) {
        if (this.#paused) await this.#paused;
        if (this.#abort.signal.aborted) break;
        const summary = await this.#runRound(this.#round + 1);
        if (!summary) break;
        if (this.#strategy.shouldStop(summary, this.#history) || this.#o.stopWhen?.(summary, this.#history)) {
          reason = 'condition';
          break;
        }
      }
      if (this.#abort.signal.aborted) reason = 'stopped';
      this.#buffered?.stop(`run ${reason}`);
      this.#setState(reason === 'stopped' ? 'stopped' : 'finished');
      return this.#result(reason);
    } catch (error) {
      this.#buffered?.stop('run ended');
      if (this.#abort.signal.aborted) {
        this.#setState('stopped');
        return this.#result('stopped');
      }
      this.#setState('failed');
      if (this.#final)
        announceRunEnd(this.#node, this.#o.learnerRole, {
          reason: 'failed',
          rounds: this.#history[this.#history.length - 1]?.round ?? 0,
        });
      throw error;
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
    this.#buffered?.stop(reason);
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

  status(): FederationStatus {
    const exclusions = this.#exclusions;
    const next = this.#attempts + 1;
    return {
      state: this.#state,
      round: this.#round,
      rounds: this.#o.rounds,
      clients: this.#node.registry.list({ role: this.#o.learnerRole }).map((c) => ({
        id: c.id,
        state: c.state,
        activity: this.#activity.get(c.id) ?? 'idle',
        failures: exclusions?.failures(c.id) ?? 0,
        excludedFor: exclusions?.roundsLeft(c.id, next) ?? 0,
      })),
      startedAt: this.#startedAt,
      elapsedMs: this.#startedAt === undefined ? 0 : Date.now() - this.#startedAt,
      lastRound: this.#history[this.#history.length - 1],
    };
  }

  #result(reason: FederationResult['reason']): FederationResult {
    // A round abandoned by stop() does not count: `rounds` is the last one finished.
    const rounds = this.#history[this.#history.length - 1]?.round ?? 0;
    if (this.#final) announceRunEnd(this.#node, this.#o.learnerRole, { reason, rounds });
    return {
      reason,
      rounds,
      weights: this.#weights!,
      history: [...this.#history],
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
    this.#round = checkpoint.round;
    this.#weights = checkpoint.weights;
    this.#history = checkpoint.history;
    this.#strategy.restore(checkpoint.strategy ?? {});
    if (checkpoint.schedule) this.#buffered?.restore(checkpoint.schedule);
  }

  /** What FedBuff's pool asks of the federation. */
  #bufferedHost() {
    return {
      strategy: this.#strategy,
      signal: this.#abort.signal,
      cohort: (round: number, calls: CancelScope) => this.#cohort(round, Date.now(), this.#log, calls),
      pick: (busy: ReadonlySet<NodeId>, count: number) => {
        const idle = this.#selectable(this.clients(), this.#attempts)
          .filter((id) => !busy.has(id))
          .sort();
        return shuffle(idle, seededRandom(deriveSeed(this.#o.seed, ++this.#picks))).slice(0, count);
      },
      learnerJoined: (): Promise<void> =>
        settleWithin(
          this.#o.clientWait,
          (settle) => {
            const joined = (client: ClientInfo) => {
              if (client.role === this.#o.learnerRole) settle.resolve();
            };
            const stopped = () => settle.resolve();
            this.#node.events.on('CLIENT_REGISTERED', joined);
            this.#abort.signal.addEventListener('abort', stopped, { once: true });
            return () => {
              this.#node.events.off('CLIENT_REGISTERED', joined);
              this.#abort.signal.removeEventListener('abort', stopped);
            };
          },
          (settle) =>
            settle.reject(
              new OiafedError('ROUND_FAILED', `no learner to train within ${this.#o.clientWait} ms`),
            ),
        ),
    };
  }

  /** The strategy's starting model, or else a learner's. */
  async #initialWeights(): Promise<Weights> {
    const own = await this.#strategy.initialWeights();
    if (own === undefined) return this.#fetchInitialWeights();
    const problem = modelProblem(own);
    if (problem !== undefined)
      throw new OiafedError('INVALID_CONFIG', `${this.#strategy.name}.initialWeights(): ${problem}`);
    return own;
  }

  /**
   * The starting model from a learner: once `minClients` learners are connected (what the first
   * round waits for too), the one whose id sorts first, never the first to arrive, so runs in any
   * mode start alike. One that fails or answers nonsense is reported (CLIENT_FAILED, round 0) and
   * the next is asked, so one hostile learner cannot choose or block the starting model.
   */
  async #fetchInitialWeights(): Promise<Weights> {
    const asked = new Set<NodeId>();
    let last: ClientFailure | undefined;
    for (;;) {
      const needed = asked.size === 0 ? this.#o.minClients : 1;
      const candidates = await this.#waitFor(
        () => this.clients().filter((id) => !asked.has(id)),
        needed,
        this.#o.clientWait,
      ).catch((error: unknown) => {
        if (!last || this.#abort.signal.aborted) throw error;
        throw new OiafedError(
          'TIMEOUT',
          `no learner gave a usable starting model within ${this.#o.clientWait} ms (last: ${last.client}: ${last.code} ${last.message})`,
          { cause: error },
        );
      });
      const [first] = candidates.sort();
      asked.add(first!);
      try {
        const weights: unknown = await this.#node.call(first!, 'getWeights', [], {
          signal: this.#calls.signal,
        });
        const problem = modelProblem(weights);
        if (problem === undefined) return weights as Weights;
        throw new OiafedError('INVALID_RESULT', `starting model: ${problem}`);
      } catch (error) {
        if (this.#abort.signal.aborted) throw error;
        last = failureOf(first!, error);
        this.events.emit('CLIENT_FAILED', { ...last, round: 0 });
      }
    }
  }

  /**
   * Round `round` until it finishes; undefined when the run was stopped during it. A failed attempt
   * is reported, then ends the run ('stop') or is tried again ('retry') after a delay that doubles
   * while the round keeps failing, cut short when a learner that is not left out joins.
   */
  async #runRound(round: number): Promise<RoundSummary | undefined> {
    for (let failed = 0; ;) {
      const attempt = await this.#attemptRound(round, failed);
      if (attempt.kind === 'stopped') return undefined;
      if (attempt.kind === 'finished') return attempt.summary;
      failed += 1;
      const retry = this.#o.onRoundFailure === 'retry';
      const retryInMs = retry ? Math.min(this.#o.retryDelay * 2 ** (failed - 1), MAX_RETRY_DELAY) : undefined;
      this.events.emit('ROUND_FAILED', {
        round,
        attempt: failed,
        reason: boundedText(attempt.error.message),
        failures: attempt.failures,
        retryInMs,
      });
      if (!retry) throw attempt.error;
      await this.#beforeRetry(retryInMs!);
      if (this.#paused) await this.#paused;
      if (this.#abort.signal.aborted) return undefined;
    }
  }

  /** Resolves after `ms`, when a selectable learner joins, or when the run is stopped. */
  #beforeRetry(ms: number): Promise<void> {
    return settleWithin(
      ms,
      (settle) => {
        const events = this.#node.events;
        const signal = this.#abort.signal;
        const joined = (client: ClientInfo) => {
          if (
            client.role === this.#o.learnerRole &&
            !this.#exclusions?.isExcluded(client.id, this.#attempts + 1)
          )
            settle.resolve();
        };
        const stopped = () => settle.resolve();
        events.on('CLIENT_REGISTERED', joined);
        signal.addEventListener('abort', stopped, { once: true });
        return () => {
          events.off('CLIENT_REGISTERED', joined);
          signal.removeEventListener('abort', stopped);
        };
      },
      (settle) => settle.resolve(),
    );
  }

  /** One attempt at round `round`, the `retry`-th retry of it (0: its first try). */
  async #attemptRound(round: number, retry: number): Promise<Attempt> {
    const o = this.#o;
    let connected: NodeId[];
    try {
      connected = await this.waitForClients(o.minClients);
    } catch (error) {
      if (this.#abort.signal.aborted) return { kind: 'stopped' };
      return {
        kind: 'failed',
        error: new OiafedError(
          'ROUND_FAILED',
          `round ${round}: ${boundedText((error as Error).message)} (minClients ${o.minClients})`,
          { cause: error },
        ),
        failures: [],
      };
    }
    // The deadline runs from here: time spent waiting for learners is not the learners' to lose.
    const started = Date.now();
    const attempt = ++this.#attempts;
    const selectable = this.#selectable(connected, attempt);
    // FedBuff's learners are picked as others finish, not per round.
    const { clients, target } = this.#buffered
      ? { clients: [], target: 0 }
      : selectClients(o.selection, selectable, round, o.seed, {
          retry,
          atLeast: o.minResults,
          overSelection: o.overSelection,
        });
    this.#round = round;
    this.events.emit('ROUND_STARTED', { round, clients: [...clients] });
    const log: AttemptLog = { outcomes: new Map(), failures: [] };
    this.#log = log;
    try {
      const done = await this.#trainAndEvaluate(round, clients, target, connected, started, log);
      if (!done) return { kind: 'stopped' };
      this.#settle(round, attempt, log);
      this.#weights = done.weights;
      this.#history.push(done.summary);
      const schedule = this.#buffered?.state();
      await o.store?.save({
        round,
        weights: done.weights,
        history: this.#history,
        strategy: this.#strategy.state(),
        ...(schedule ? { schedule } : {}),
      });
      this.events.emit('ROUND_FINISHED', done.summary);
      return { kind: 'finished', summary: done.summary };
    } catch (error) {
      if (this.#abort.signal.aborted) return { kind: 'stopped' };
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
    started: number,
    log: AttemptLog,
  ): Promise<{ summary: RoundSummary; weights: Weights } | undefined> {
    const o = this.#o;
    const strategy = this.#strategy;
    const start: RoundStart = { round, weights: this.#weights!, config: o.config };
    const cohort = this.#cohort(round, started, log);
    await strategy.beforeRound?.(start, cohort, clients);
    const train = this.#buffered
      ? await this.#buffered.nextVersion(start)
      : await this.#trainRound(start, cohort, clients, target);
    if (this.#abort.signal.aborted) return undefined;
    const { aggregate, parts } = train;
    for (const { client, reason } of aggregate.rejected)
      this.events.emit('CLIENT_REJECTED', { round, client, reason: boundedText(reason) });
    const weights = strategy.update(start, aggregate);
    const trainMs = Date.now() - started;
    const evalStarted = Date.now();
    const evalMetrics: Metrics = {};
    const failures = [...train.failures];
    if (o.federatedEvaluation !== undefined && o.federatedEvaluation !== false) {
      const evaluators =
        o.federatedEvaluation === true
          ? clients
          : selectClients(o.federatedEvaluation, connected, round, o.seed, { stream: 'evaluate' }).clients;
      const evaluated: RoundStart = { round, weights, config: o.config };
      const results: ClientEvaluation[] = [];
      const fed = await cohort.gather(
        'evaluate',
        evaluators,
        (client) => strategy.configureEvaluate(evaluated, client),
        (client, result) => {
          results.push({ client, numExamples: result.numExamples, metrics: result.metrics });
        },
      );
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may run during the await
      if (this.#abort.signal.aborted) return undefined;
      failures.push(...fed.failures);
      for (const [k, v] of Object.entries(strategy.aggregateEvaluate(evaluated, results)))
        evalMetrics[`federated_${k}`] = v;
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
    };
    return { summary, weights };
  }

  /** A synchronous round's training: the selected learners asked at once, their updates aggregated as they arrive. */
  async #trainRound(
    start: RoundStart,
    cohort: Cohort,
    clients: NodeId[],
    target: number,
  ): Promise<TrainingOutcome> {
    const strategy = this.#strategy;
    const aggregation = strategy.aggregation(start);
    const parts: { numExamples: number; metrics: Metrics }[] = [];
    const train = await cohort.gather(
      'train',
      clients,
      (client) => strategy.configureTrain(start, client),
      (client, result) => {
        const metrics = result.metrics ?? {};
        const { weights, numExamples } = result;
        aggregation.add({ client, weights, numExamples, metrics, staleness: 0, weight: numExamples });
        parts.push({ numExamples, metrics });
      },
      target < clients.length ? { enough: target } : {},
    );
    const out: TrainingOutcome = {
      aggregate: { weights: {}, rejected: [] },
      clients,
      parts,
      failures: train.failures,
      stale: 0,
    };
    if (this.#abort.signal.aborted) return out;
    requireResults(start.round, train, clients.length, this.#o.minResults, 'train');
    out.aggregate = aggregation.result();
    return out;
  }

  /**
   * Who round attempt `attempt` may select: the connected learners not left out; when fewer than
   * minClients remain, the left-out ones whose time is nearest its end are taken back (by id on a
   * tie), as a round that can run beats waiting for learners that may never come.
   */
  #selectable(connected: readonly NodeId[], attempt: number): NodeId[] {
    const exclusions = this.#exclusions;
    if (!exclusions) return [...connected];
    const eligible = connected.filter((id) => !exclusions.isExcluded(id, attempt));
    const missing = this.#o.minClients - eligible.length;
    if (missing <= 0) return eligible;
    const soonest = connected
      .filter((id) => exclusions.isExcluded(id, attempt))
      .sort(
        (a, b) => exclusions.roundsLeft(a, attempt) - exclusions.roundsLeft(b, attempt) || (a < b ? -1 : 1),
      )
      .slice(0, missing);
    for (const id of soonest) exclusions.readmit(id);
    return [...eligible, ...soonest];
  }

  /** Counts the attempt's outcomes toward exclusion and announces who is now left out. */
  #settle(round: number, attempt: number, log: AttemptLog): void {
    const exclusions = this.#exclusions;
    if (!exclusions) return;
    for (const { client, failures, rounds } of exclusions.record(attempt, log.outcomes)) {
      this.events.emit('CLIENT_EXCLUDED', { round, client, failures, rounds });
    }
    const registry = this.#node.registry;
    exclusions.forget((id) => registry.get(id)?.state === 'connected', attempt);
  }

  #cohort(round: number, started: number, log: AttemptLog, calls: CancelScope = this.#calls): Cohort {
    const deadline = this.#o.deadline;
    return new Cohort({
      node: this.#node,
      round,
      timeLeft: () => (deadline > 0 ? Math.max(1, started + deadline - Date.now()) : undefined),
      calls: calls.signal,
      signal: this.#abort.signal,
      limits: this.#limits,
      activity: this.#activity,
      trained: (info) => this.events.emit('CLIENT_RESULT', info),
      outcome: (client, failure) => {
        log.outcomes.set(client, failure === undefined && log.outcomes.get(client) !== false);
        if (!failure) return;
        log.failures.push(failure);
        this.events.emit('CLIENT_FAILED', { ...failure, round });
      },
    });
  }
}

/**
 * ROUND_FAILED when fewer than `minResults` results came back, naming the first few failures (a
 * thousand failures make one bounded line).
 */
function requireResults(
  round: number,
  outcome: GatherOutcome,
  asked: number,
  minResults: number,
  what: string,
): void {
  if (outcome.succeeded.length >= minResults) return;
  const { failures } = outcome;
  const named = failures.slice(0, 8).map((f) => `${f.client}: ${f.code} ${f.message}`);
  const why = boundedText(
    `${named.join('; ')}${failures.length > named.length ? `; ${failures.length - named.length} more` : ''}`,
  );
  throw new OiafedError(
    'ROUND_FAILED',
    `round ${round}: ${outcome.succeeded.length} of ${asked} learners returned ${what} results, fewer than minResults ${minResults}${why ? ` (${why})` : ''}`,
  );
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError(
    'INVALID_CONFIG',
    `federation.${field} must be ${expected} (got ${JSON.stringify(got)})`,
  );
}
