import type { NodeId } from '../wire/envelope.js';
import { decodeUpdate } from './codecs/encoded-weights.js';
import { OiafedError } from '../wire/errors.js';
import { CancelScope } from '../rpc/cancel-scope.js';
import type { Aggregate, StateValue, StrategyState } from './aggregation.js';
import { failureOf, type Cohort } from './cohort.js';
import type { TrainResult } from './learner.js';
import type { ClientFailure } from './round.js';
import type { RoundStart, Strategy } from './strategy.js';
import { modelProblem, type Metrics, type Weights } from './weights.js';

/**
 * Buffered asynchronous aggregation (FedBuff, Nguyen et al. 2022, "Federated Learning with Buffered
 * Asynchronous Aggregation"): `concurrency` learners train at all times, each from the newest model
 * when it started; every `buffer` results make a new model version. No learner waits for the
 * slowest of a round. A result trained from an older version counts less: its change is scaled by
 * the staleness weight before it joins the others (the paper's s(τ)·Δ, so a stale update moves the
 * model less, not only weighs less against the rest), and one more than `maxStaleness` versions
 * old is dropped.
 */
export interface FedBuffOptions {
  /** Learners kept training at once (K in the paper). */
  concurrency: number;
  /** Results folded into each new model version (the paper's buffer size). */
  buffer: number;
  /** Results from a model more than this many versions old are dropped. Default 10. */
  maxStaleness?: number;
}

/** The paper's staleness weight: 1/sqrt(1 + staleness). */
export function stalenessWeight(staleness: number): number {
  return 1 / Math.sqrt(1 + staleness);
}

/**
 * What a round's training came to (a synchronous round's, or a FedBuff version's): the aggregate and what the
 * summary reports.
 */
export interface TrainingOutcome {
  aggregate: Aggregate;
  /** Learners whose results were folded in. */
  clients: NodeId[];
  parts: { numExamples: number; metrics: Metrics }[];
  failures: ClientFailure[];
  /** Results dropped for being more than maxStaleness versions old. */
  stale: number;
}

/** What the pool needs of its federation. */
export interface BufferedHost {
  readonly strategy: Strategy;
  readonly signal: AbortSignal;
  /** A cohort for one learner's training started now in round `round`, cancelled with `calls`. */
  cohort(round: number, calls: CancelScope): Cohort;
  /** Idle learners that may be asked now, best first (seeded), at most `count`. */
  pick(busy: ReadonlySet<NodeId>, count: number): NodeId[];
  /** Resolves when a learner registers (or the run stops); rejects with TIMEOUT after the wait for learners. */
  learnerJoined(): Promise<void>;
}

interface Task {
  /** The version the learner trains from (the rounds finished when it started). */
  version: number;
  weights: Weights;
}

interface Arrival {
  client: NodeId;
  version: number;
  /** The model it trained from. */
  base: Weights;
  result: TrainResult;
}

/**
 * The learners under way between versions. A synchronous round asks and waits; this pool keeps
 * `concurrency` tasks running across versions, so it outlives each call of `nextVersion`.
 */
export class BufferedTraining {
  readonly options: Required<FedBuffOptions>;
  readonly #host: BufferedHost;
  readonly #tasks = new Map<NodeId, Task>();
  readonly #arrivals: Arrival[] = [];
  /** Failures since the last version, reported with the next one. */
  #failures: ClientFailure[] = [];
  /** Tasks of a checkpoint, started again as their learners come back. */
  readonly #resumed: (Task & { client: NodeId })[] = [];
  readonly #calls = new CancelScope();
  #wake: (() => void) | undefined;

  constructor(options: FedBuffOptions, host: BufferedHost) {
    const { concurrency, buffer, maxStaleness = 10 } = options;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw invalid('concurrency', 'a positive integer', concurrency);
    if (!Number.isInteger(buffer) || buffer < 1 || buffer > concurrency)
      throw invalid('buffer', `an integer from 1 to concurrency (${concurrency})`, buffer);
    if (!Number.isInteger(maxStaleness) || maxStaleness < 0)
      throw invalid('maxStaleness', 'an integer >= 0', maxStaleness);
    this.options = { concurrency, buffer, maxStaleness };
    this.#host = host;
  }

  /**
   * Trains until `buffer` results are folded into round `start.round`'s aggregation, keeping
   * `concurrency` learners at work. Learners that start now train from `start.weights`.
   */
  async nextVersion(start: RoundStart): Promise<TrainingOutcome> {
    const strategy = this.#host.strategy;
    const aggregation = strategy.aggregation(start);
    const version = start.round - 1;
    const out: TrainingOutcome = {
      aggregate: { weights: {}, rejected: [] },
      clients: [],
      parts: [],
      failures: [],
      stale: 0,
    };
    while (out.clients.length < this.options.buffer) {
      this.#fill(start);
      const arrival = this.#arrivals.shift();
      if (arrival) {
        const staleness = version - arrival.version;
        if (staleness > this.options.maxStaleness) {
          out.stale += 1;
          continue;
        }
        const { result } = arrival;
        const weights =
          staleness === 0
            ? result.weights
            : rebase(result.weights, arrival.base, start.weights, stalenessWeight(staleness));
        const metrics = result.metrics ?? {};
        try {
          aggregation.add({
            client: arrival.client,
            weights,
            numExamples: result.numExamples,
            metrics,
            staleness,
          });
        } catch (error) {
          // Refused by the aggregation (an update that would overflow the sum): that learner's failure.
          if (!(error instanceof OiafedError && error.code === 'INVALID_RESULT')) throw error;
          this.#failures.push(failureOf(arrival.client, error));
          continue;
        }
        out.clients.push(arrival.client);
        out.parts.push({ numExamples: result.numExamples, metrics });
        continue;
      }
      if (this.#host.signal.aborted) break;
      await (this.#tasks.size === 0 ? this.#host.learnerJoined() : this.#arrival());
    }
    out.failures = this.#failures;
    this.#failures = [];
    if (!this.#host.signal.aborted) out.aggregate = aggregation.result();
    return out;
  }

  /**
   * What a checkpoint keeps of the pool: who was training from which version's model, and the
   * results that came in after the last version was made (they belong to the next one).
   */
  state(): StrategyState {
    const tasks: StateValue[] = [];
    for (const [client, task] of this.#tasks)
      tasks.push({ client, version: task.version, weights: task.weights });
    const arrivals: StateValue[] = this.#arrivals.map(({ client, version, base, result }) => ({
      client,
      version,
      base,
      weights: result.weights,
      numExamples: result.numExamples,
      metrics: result.metrics ?? {},
    }));
    return { tasks, arrivals };
  }

  /**
   * Takes the tasks of a checkpoint back: their learners are asked again from the same model as
   * soon as they are connected, so a resumed run folds in what an uninterrupted one would have.
   */
  restore(state: StrategyState): void {
    for (const task of listOf(state.tasks)) {
      const t = task as { client?: unknown; version?: unknown; weights?: unknown } | null;
      if (
        typeof t?.client !== 'string' ||
        !Number.isInteger(t.version) ||
        modelProblem(t.weights) !== undefined
      ) {
        throw new OiafedError(
          'INVALID_CONFIG',
          'checkpoint: a FedBuff task is not { client, version, weights }',
        );
      }
      this.#resumed.push({ client: t.client, version: t.version as number, weights: t.weights as Weights });
    }
    for (const arrival of listOf(state.arrivals)) {
      const a = arrival as {
        client?: unknown;
        version?: unknown;
        base?: unknown;
        weights?: unknown;
        numExamples?: unknown;
        metrics?: unknown;
      } | null;
      const valid =
        typeof a?.client === 'string' &&
        Number.isInteger(a.version) &&
        modelProblem(a.base) === undefined &&
        modelProblem(a.weights) === undefined &&
        Number.isInteger(a.numExamples) &&
        typeof a.metrics === 'object' &&
        a.metrics !== null;
      if (!valid)
        throw new OiafedError(
          'INVALID_CONFIG',
          'checkpoint: a FedBuff result is not { client, version, base, weights, numExamples, metrics }',
        );
      const result: TrainResult = {
        weights: a.weights as Weights,
        numExamples: a.numExamples as number,
        metrics: a.metrics as Metrics,
      };
      this.#arrivals.push({
        client: a.client as string,
        version: a.version as number,
        base: a.base as Weights,
        result,
      });
    }
  }

  /** Cancels the tasks still under way (the run is over). */
  stop(reason: string): void {
    this.#calls.abort(new OiafedError('ABORTED', reason));
  }

  /** Starts learners until `concurrency` are at work: resumed tasks first, then idle learners. */
  #fill(start: RoundStart): void {
    const free = this.options.concurrency - this.#tasks.size;
    if (free <= 0) return;
    const busy = new Set(this.#tasks.keys());
    const available = this.#resumed.length ? new Set(this.#host.pick(busy, Infinity)) : new Set<NodeId>();
    const resumedNow = this.#resumed.filter((t) => available.has(t.client)).slice(0, free);
    for (const task of resumedNow) {
      this.#resumed.splice(this.#resumed.indexOf(task), 1);
      this.#start(
        task.client,
        { round: task.version + 1, weights: task.weights, config: start.config },
        task.version,
      );
      busy.add(task.client);
    }
    for (const client of this.#host.pick(busy, free - resumedNow.length))
      this.#start(client, start, start.round - 1);
  }

  #start(client: NodeId, start: RoundStart, version: number): void {
    const params = this.#host.strategy.configureTrain(start, client);
    if (params === undefined) return;
    const task: Task = { version, weights: params.weights };
    this.#tasks.set(client, task);
    const cohort = this.#host.cohort(start.round, this.#calls);
    void cohort
      .gather(
        'train',
        [client],
        () => params,
        (from, result) =>
          // Results wait in the buffer (and in checkpoints): a compressed one is decoded as it arrives.
          void this.#arrivals.push({ client: from, version, base: task.weights, result: decoded(result) }),
      )
      .then((outcome) => {
        this.#failures.push(...outcome.failures);
        if (this.#tasks.get(client) === task) this.#tasks.delete(client);
        this.#wake?.();
      });
  }

  /** Resolves when a task ends (with a result or without). */
  #arrival(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
    });
  }
}

function decoded(result: TrainResult): TrainResult {
  const { compressed, ...rest } = result;
  return compressed ? { ...rest, weights: decodeUpdate(compressed) } : result;
}

function listOf(value: StateValue | undefined): readonly StateValue[] {
  return Array.isArray(value) ? (value as readonly StateValue[]) : [];
}

/**
 * `base + scale * (update - from)`: an update trained from an older model, moved onto the newest
 * one with its change scaled down by its staleness weight.
 */
function rebase(update: Weights, from: Weights, base: Weights, scale: number): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(base)) {
    const u = update[name]!.data;
    const f = from[name]!.data;
    const b = t.data;
    const data = new Float32Array(b.length);
    for (let i = 0; i < b.length; i++) data[i] = b[i]! + scale * (u[i]! - f[i]!);
    out[name] = { shape: [...t.shape], data };
  }
  return out;
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError(
    'INVALID_CONFIG',
    `federation.schedule.${field} must be ${expected} (got ${JSON.stringify(got)})`,
  );
}
