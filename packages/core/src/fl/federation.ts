import { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../envelope.js';
import { OiafedError } from '../errors.js';
import { CancelScope } from '../cancel-scope.js';
import type { Node } from '../node.js';
import type { ClientState } from '../registry.js';
import type { CheckpointStore } from './checkpoint.js';
import { FedAvg } from './fedavg.js';
import type { Learner, LearnerProxy } from './learner.js';
import type { ClientFailure, RoundSummary } from './round.js';
import { selectClients, type Selection } from './selection.js';
import type { GatherOutcome, RoundContext, Trainer } from './trainer.js';
import type { Metrics, Weights } from './weights.js';

export interface FederationOptions {
  /** The trainer's node; learners join it (in memory, from workers, over WebSocket or WebRTC). */
  node: Node;
  /** The algorithm. Default: FedAvg. */
  trainer?: Trainer;
  /** Rounds to run (the run may stop earlier through `stopWhen` or `trainer.shouldStop`). */
  rounds: number;
  /** Fewer usable results than this fails a round; a round also waits for this many learners to be connected. Default 1. */
  minClients?: number;
  /** Which connected learners train each round. Default 'all'. */
  selection?: Selection;
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
  /** Also let the round's learners evaluate the global model on their own data. Default false. */
  federatedEvaluation?: boolean;
  /** Where to save a checkpoint after every round; `start()` resumes from it when it holds one. */
  store?: CheckpointStore;
  /** True ends the run after the round just finished. */
  stopWhen?: (summary: RoundSummary, history: readonly RoundSummary[]) => boolean;
}

export type FederationState = 'idle' | 'running' | 'paused' | 'stopping' | 'finished' | 'stopped' | 'failed';
export type ClientActivity = 'idle' | 'training' | 'evaluating';

export interface FederationEvents {
  STATE_CHANGED: [state: FederationState];
  ROUND_STARTED: [info: { round: number; clients: NodeId[] }];
  CLIENT_RESULT: [info: { round: number; client: NodeId; numExamples: number; metrics: Metrics; ms: number }];
  CLIENT_FAILED: [failure: ClientFailure & { round: number }];
  ROUND_FINISHED: [summary: RoundSummary];
}

export interface FederationStatus {
  state: FederationState;
  /** The round running or last finished. */
  round: number;
  rounds: number;
  clients: { id: NodeId; state: ClientState; activity: ClientActivity }[];
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

/**
 * The coordinator and single entry point of a run: it waits for learners, selects them, runs the
 * trainer's rounds with deadlines and failure tolerance, evaluates, checkpoints, and reports.
 */
export class Federation {
  readonly events = new EventEmitter<FederationEvents>();
  readonly #o: Required<Pick<FederationOptions, 'rounds' | 'minClients' | 'selection' | 'seed' | 'deadline' | 'clientWait' | 'learnerRole' | 'config'>> & FederationOptions;
  readonly #node: Node;
  readonly #trainer: Trainer;
  readonly #activity = new Map<NodeId, ClientActivity>();
  #state: FederationState = 'idle';
  #round = 0;
  #weights: Weights | undefined;
  #history: RoundSummary[] = [];
  #startedAt: number | undefined;
  /** For the user's code (RoundContext.signal): a real AbortSignal. */
  #abort = new AbortController();
  /** For the federation's own calls: thousands share it, and an EventTarget would pay O(n) per call. */
  readonly #calls = new CancelScope();
  #resume: (() => void) | undefined;
  #paused: Promise<void> | undefined;

  constructor(options: FederationOptions) {
    this.#o = {
      minClients: 1,
      selection: 'all',
      seed: 0,
      deadline: 0,
      clientWait: 60_000,
      learnerRole: 'learner',
      config: {},
      ...options,
    };
    const o = this.#o;
    if (!Number.isInteger(o.rounds) || o.rounds < 1) throw invalid('rounds', 'a positive integer', o.rounds);
    if (!Number.isInteger(o.minClients) || o.minClients < 1) throw invalid('minClients', 'a positive integer', o.minClients);
    if (!(o.deadline >= 0)) throw invalid('deadline', 'a number of ms >= 0', o.deadline);
    if (typeof o.selection === 'object' && !(o.selection.fraction > 0 && o.selection.fraction <= 1)) throw invalid('fraction', 'in (0, 1]', o.selection.fraction);
    this.#node = options.node;
    this.#trainer = options.trainer ?? new FedAvg();
    this.#weights = options.initialWeights;
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
    const enough = () => this.clients().length >= n;
    if (enough()) return Promise.resolve(this.clients());
    return new Promise((resolve, reject) => {
      const events = this.#node.events;
      const check = () => {
        if (!enough()) return;
        done();
        resolve(this.clients());
      };
      const onAbort = () => {
        done();
        reject(new OiafedError('ABORTED', 'federation stopped while waiting for learners'));
      };
      const timer = setTimeout(() => {
        done();
        reject(new OiafedError('TIMEOUT', `only ${this.clients().length} of ${n} learners connected within ${timeout} ms`));
      }, timeout);
      const done = () => {
        clearTimeout(timer);
        events.off('CLIENT_REGISTERED', check);
        this.#abort.signal.removeEventListener('abort', onAbort);
      };
      events.on('CLIENT_REGISTERED', check);
      this.#abort.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Runs the rounds; resolves when they are done, the run is stopped, or a stop condition holds. */
  async start(): Promise<FederationResult> {
    if (this.#state !== 'idle') throw new OiafedError('INVALID_CONFIG', `federation already ${this.#state}`);
    this.#startedAt = Date.now();
    this.#setState('running');
    try {
      await this.#restore();
      this.#weights ??= await this.#fetchInitialWeights();
      let reason: FederationResult['reason'] = 'completed';
      while (this.#round < this.#o.rounds) {
        if (this.#paused) await this.#paused;
        if (this.#abort.signal.aborted) break;
        const summary = await this.#runRound(this.#round + 1);
        if (!summary) break;
        if (this.#trainer.shouldStop(summary, this.#history) || this.#o.stopWhen?.(summary, this.#history)) {
          reason = 'condition';
          break;
        }
      }
      if (this.#abort.signal.aborted) reason = 'stopped';
      this.#setState(reason === 'stopped' ? 'stopped' : 'finished');
      return this.#result(reason);
    } catch (error) {
      if (this.#abort.signal.aborted) {
        this.#setState('stopped');
        return this.#result('stopped');
      }
      this.#setState('failed');
      throw error;
    }
  }

  /** Ends the run: the round in flight is abandoned (its calls cancelled) and `start()` resolves. */
  stop(reason = 'stopped by the user'): void {
    if (this.#state === 'finished' || this.#state === 'stopped' || this.#state === 'failed') return;
    if (this.#state !== 'idle') this.#setState('stopping');
    const error = new OiafedError('ABORTED', reason);
    this.#abort.abort(error);
    this.#calls.abort(error);
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
    return {
      state: this.#state,
      round: this.#round,
      rounds: this.#o.rounds,
      clients: this.#node.registry.list({ role: this.#o.learnerRole }).map((c) => ({ id: c.id, state: c.state, activity: this.#activity.get(c.id) ?? 'idle' })),
      startedAt: this.#startedAt,
      elapsedMs: this.#startedAt === undefined ? 0 : Date.now() - this.#startedAt,
      lastRound: this.#history[this.#history.length - 1],
    };
  }

  #result(reason: FederationResult['reason']): FederationResult {
    // A round abandoned by stop() does not count: `rounds` is the last one finished.
    const rounds = this.#history[this.#history.length - 1]?.round ?? 0;
    return { reason, rounds, weights: this.#weights!, history: [...this.#history], elapsedMs: Date.now() - this.#startedAt! };
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
  }

  async #fetchInitialWeights(): Promise<Weights> {
    const [first] = await this.waitForClients(1);
    return this.#node.proxy<Learner>(first!, { signal: this.#abort.signal }).getWeights();
  }

  /** One round; undefined when the run was stopped during it. */
  async #runRound(round: number): Promise<RoundSummary | undefined> {
    const o = this.#o;
    const started = Date.now();
    const connected = await this.waitForClients(o.minClients).catch((error: unknown) => {
      if (this.#abort.signal.aborted) return undefined;
      throw new OiafedError('ROUND_FAILED', `round ${round}: ${(error as Error).message} (minClients ${o.minClients})`, { cause: error });
    });
    if (!connected) return undefined;
    const clients = selectClients(o.selection, connected, round, o.seed);
    this.#round = round;
    this.events.emit('ROUND_STARTED', { round, clients: [...clients] });
    const ctx = this.#context(round, clients, started);
    let train;
    try {
      train = await this.#trainer.trainRound(ctx);
    } catch (error) {
      if (this.#abort.signal.aborted) return undefined;
      throw error;
    }
    if (this.#abort.signal.aborted) return undefined;
    this.#weights = train.weights;
    const trainMs = Date.now() - started;
    const evalStarted = Date.now();
    const evalMetrics: Metrics = {};
    const failures = [...train.failures];
    if (o.federatedEvaluation) {
      const fed = await this.#trainer.evaluateRound(this.#context(round, clients, evalStarted, train.weights));
      failures.push(...fed.failures);
      for (const [k, v] of Object.entries(fed.metrics)) evalMetrics[`federated_${k}`] = v;
    }
    if (o.evaluate) Object.assign(evalMetrics, await o.evaluate(train.weights, round));
    const summary: RoundSummary = {
      round,
      clients: [...clients],
      results: train.results,
      numExamples: train.numExamples,
      failures,
      trainMetrics: train.trainMetrics,
      evalMetrics,
      timings: { trainMs, evaluateMs: Date.now() - evalStarted, totalMs: Date.now() - started },
    };
    this.#history.push(summary);
    await o.store?.save({ round, weights: train.weights, history: this.#history });
    this.events.emit('ROUND_FINISHED', summary);
    return summary;
  }

  #context(round: number, clients: readonly NodeId[], started: number, weights = this.#weights!): RoundContext {
    const o = this.#o;
    const signal = this.#abort.signal;
    const node = this.#node;
    const activity = this.#activity;
    const calls = this.#calls.signal;
    const events = this.events;
    const timeoutNow = () => (o.deadline > 0 ? Math.max(1, started + o.deadline - Date.now()) : undefined);
    return {
      round,
      weights,
      clients,
      config: o.config,
      minResults: o.minClients,
      signal,
      proxy: (id) => node.proxy<Learner>(id, { signal }) as LearnerProxy,
      async gather(method, paramsFor, onResult, among = clients): Promise<GatherOutcome> {
        const succeeded: NodeId[] = [];
        const failures: ClientFailure[] = [];
        await Promise.all(
          among.map(async (client) => {
            const t0 = Date.now();
            activity.set(client, method === 'train' ? 'training' : 'evaluating');
            try {
              const timeout = timeoutNow();
              const options = timeout === undefined ? { signal: calls } : { signal: calls, timeout };
              const result = await node.call(client, method, [paramsFor(client)], options);
              onResult(client, result as never);
              succeeded.push(client);
              if (method === 'train') {
                const r = result as { numExamples: number; metrics?: Metrics };
                events.emit('CLIENT_RESULT', { round, client, numExamples: r.numExamples, metrics: r.metrics ?? {}, ms: Date.now() - t0 });
              }
            } catch (error) {
              const failure: ClientFailure = {
                client,
                code: error instanceof OiafedError ? error.code : 'REMOTE_ERROR',
                message: error instanceof Error ? error.message : String(error),
              };
              failures.push(failure);
              if (!signal.aborted) events.emit('CLIENT_FAILED', { ...failure, round });
            } finally {
              activity.set(client, 'idle');
            }
          }),
        );
        return { succeeded, failures };
      },
    };
  }
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError('INVALID_CONFIG', `federation.${field} must be ${expected} (got ${JSON.stringify(got)})`);
}
