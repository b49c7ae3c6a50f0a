import { boundedText } from '../wire/bounded-text.js';
import type { NodeId } from '../wire/envelope.js';
import { asOiafedError, OiafedError } from '../wire/errors.js';
import { shareValue } from '../wire/shared-values.js';
import type { CancelSignal } from '../wire/signals.js';
import { CancelScope } from '../rpc/cancel-scope.js';
import type { Node } from '../rpc/node.js';
import type { RemoteProxy, ResultOf } from '../rpc/proxy.js';
import type { Compression } from './codecs/trainer-codecs.js';
import type { CodecName } from './codecs/tensor-codec.js';
import type { Learner, TrainParams, TrainResult } from './learner.js';
import {
  assertCompressedTrainAnswer,
  assertEvaluateResult,
  assertTrainResult,
  type ResultLimits,
} from './result-validation.js';
import type { ClientFailure } from './round.js';
import type { Metrics, Weights } from './weights.js';

/** The methods of a learner that take one argument (or none): what a cohort can gather. */
export type LearnerMethod<L> = {
  [K in keyof L & string]: L[K] extends (params: never) => unknown ? K : never;
}[keyof L & string];

/** What method `M` of learner `L` takes. */
export type ParamsOf<L, M extends keyof L> = L[M] extends (params: infer P) => unknown ? P : never;

export interface GatherOutcome {
  /** Learners whose result was accepted, in the order they arrived. */
  succeeded: NodeId[];
  failures: ClientFailure[];
  /** Learners whose call was cancelled because `enough` results had arrived (over-selection). */
  cancelled: NodeId[];
}

export interface GatherOptions<R> {
  /**
   * Checks a result of a method other than `train` and `evaluate` (those are always checked
   * against the model and the limits): return the value to use, throw to refuse it. Without it,
   * such a result reaches `onResult` as the learner sent it: it is a peer's, so read it warily.
   */
  validate?: (result: unknown, client: NodeId) => R;
  /** Close the gather once this many results are accepted, cancelling the calls still out. */
  enough?: number;
  /**
   * For a method other than `train` that trains (secure aggregation's masked input): what of its
   * accepted result to announce as the learner's training result (CLIENT_RESULT).
   */
  announce?: (result: R) => Pick<ClientResultInfo, 'numExamples' | 'metrics' | 'masked'>;
}

/** Activity a learner shows in `Federation.status()` while a cohort waits on it. */
export type ClientActivity = 'idle' | 'training' | 'evaluating' | 'working';

/** A learner's accepted train result, as the federation announces it (CLIENT_RESULT). */
export interface ClientResultInfo {
  round: number;
  client: NodeId;
  numExamples: number;
  metrics: Metrics;
  ms: number;
  /** The update came masked (secure aggregation): the trainer holds only the round's sum of updates. */
  masked?: true;
}

/** The federation's side of a cohort (made by Federation for each round attempt). */
export interface CohortParts {
  readonly node: Node;
  readonly round: number;
  /** ms left before the round's deadline, or undefined for none. */
  readonly timeLeft: () => number | undefined;
  /** Cancels every call when the run stops. */
  readonly calls: CancelSignal;
  readonly signal: AbortSignal;
  readonly limits: ResultLimits;
  /** What each learner with a call out is doing; a learner not in it is idle, so it holds only those. */
  readonly activity: Map<NodeId, ClientActivity>;
  /** Told each accepted train result. */
  readonly trained: (info: ClientResultInfo) => void;
  /** Told each learner's outcome, its failure if it failed (for exclusion, CLIENT_FAILED and the round's report). */
  readonly outcome: (client: NodeId, failure?: ClientFailure) => void;
  /** Compressed updates, when the federation uses them: training requests and answers go through it. */
  readonly compression?: Compression;
}

/**
 * How a strategy talks to learners in a round: `gather` asks many learners one method at once,
 * typed by the learner interface, within the round's deadline, with activity shown in the status,
 * failures counted (never fatal) and results checked before they are handed over. The built-in
 * schedules use it the same way.
 */
export class Cohort<L extends Learner = Learner> {
  readonly #parts: CohortParts;

  constructor(parts: CohortParts) {
    this.#parts = parts;
  }

  get round(): number {
    return this.#parts.round;
  }

  /** Aborts when the federation is stopped. */
  get signal(): AbortSignal {
    return this.#parts.signal;
  }

  /** A typed handle on one learner. Its answers are not checked: check what you use from them. */
  proxy<T extends object = L>(id: NodeId): RemoteProxy<T> {
    return this.#parts.node.proxy<T>(id, { signal: this.#parts.signal });
  }

  /**
   * Reports a learner whose accepted answer a later check found wrong (a protocol's own check, such
   * as a secure aggregation share that does not match its commitment): it counts as that learner's
   * failure in the round, like a failed call (CLIENT_FAILED, exclusion, the round's report).
   */
  fail(failure: ClientFailure): void {
    this.#parts.outcome(failure.client, failure);
  }

  /**
   * Asks each of `clients` for `method`, with the params `paramsFor` gives it (undefined: that
   * learner is not asked), and hands every accepted result to `onResult` as it arrives, keeping
   * none: memory stays what `onResult` keeps. A train result must have the layout of the model the
   * learner was sent, finite values, an integer `numExamples` from 1 to `maxExamples` and finite
   * metrics; an evaluate result the same but for the model. A learner that fails, times out at the
   * round's deadline, disconnects, answers an invalid result (INVALID_RESULT), or whose result
   * `onResult` refuses by throwing is reported and counted, never fatal.
   */
  async gather<M extends LearnerMethod<L>>(
    method: M,
    clients: readonly NodeId[],
    paramsFor: (client: NodeId) => ParamsOf<L, M> | undefined,
    onResult: (client: NodeId, result: ResultOf<L, M>) => void,
    options: GatherOptions<ResultOf<L, M>> = {},
  ): Promise<GatherOutcome> {
    const { node, round, activity, limits } = this.#parts;
    const outcome: GatherOutcome = { succeeded: [], failures: [], cancelled: [] };
    const enough = options.enough ?? Infinity;
    // Over-selection cancels the calls still out once enough came back; a stop cancels them all.
    const scope = new CancelScope();
    const stop = () => scope.abort(this.#parts.calls.reason);
    this.#parts.calls.addEventListener('abort', stop);
    if (this.#parts.calls.aborted) stop();
    const doing: ClientActivity =
      method === 'train' ? 'training' : method === 'evaluate' ? 'evaluating' : 'working';
    const { timeLeft } = this.#parts;
    // Without a deadline every call takes the same options: one object for the whole cohort.
    const untimed = { signal: scope.signal };
    const ask = async (client: NodeId, params: ParamsOf<L, M>): Promise<void> => {
      const t0 = Date.now();
      activity.set(client, doing);
      try {
        const callOptions = () => {
          const timeout = timeLeft();
          return timeout === undefined ? untimed : { signal: scope.signal, timeout };
        };
        const { compression } = this.#parts;
        let sent: { params: unknown; up?: CodecName } = { params };
        if (method === 'train' && compression) {
          const codecs = await compression.supported(client, callOptions());
          sent = compression.request(params as TrainParams, codecs);
        }
        const answer: unknown = await node.call(client, method, [sent.params], callOptions());
        const result =
          sent.up && compression
            ? (compressedResult(answer, params as TrainParams, sent.up, compression, limits) as ResultOf<
                L,
                M
              >)
            : checked<L, M>(method, answer, params, client, limits, options.validate);
        onResult(client, result);
        outcome.succeeded.push(client);
        this.#parts.outcome(client);
        if (method === 'train') {
          const r = result as { numExamples: number; metrics?: Metrics };
          this.#parts.trained({
            round,
            client,
            numExamples: r.numExamples,
            metrics: r.metrics ?? {},
            ms: Date.now() - t0,
          });
        } else if (options.announce) {
          this.#parts.trained({ round, client, ...options.announce(result), ms: Date.now() - t0 });
        }
        if (outcome.succeeded.length >= enough)
          scope.abort(new OiafedError('ABORTED', `round ${round} had ${enough} results`));
      } catch (error) {
        if (scope.aborted && !this.#parts.calls.aborted) return void outcome.cancelled.push(client);
        const failure = failureOf(client, error);
        outcome.failures.push(failure);
        if (this.#parts.signal.aborted) return;
        this.#parts.outcome(client, failure);
      } finally {
        // Deleted, not set to idle: over a server's life every id ever asked would stay in the map.
        activity.delete(client);
      }
    };
    const release: (() => void)[] = [];
    try {
      const asking: [NodeId, ParamsOf<L, M>][] = [];
      for (const client of clients) {
        const params = paramsFor(client);
        if (params !== undefined) asking.push([client, params]);
      }
      // A model that goes to several learners is encoded once for all of them.
      for (const model of modelsSentToMany(asking)) release.push(shareValue(model));
      await Promise.all(asking.map(([client, params]) => ask(client, params)));
    } finally {
      for (const done of release) done();
      this.#parts.calls.removeEventListener('abort', stop);
    }
    return outcome;
  }
}

/** The `weights` objects that go, as they are, to more than one learner in `asking`. */
function modelsSentToMany(asking: readonly [NodeId, unknown][]): object[] {
  const seen = new Set<object>();
  const many = new Set<object>();
  for (const [, params] of asking) {
    const weights: unknown = (params as { weights?: unknown } | null)?.weights;
    if (typeof weights !== 'object' || weights === null) continue;
    if (seen.has(weights)) many.add(weights);
    else seen.add(weights);
  }
  return [...many];
}

/** A compressed train answer, checked to the last index, as the schedule takes it; or INVALID_RESULT. */
function compressedResult(
  answer: unknown,
  params: TrainParams,
  codec: CodecName,
  compression: Compression,
  limits: ResultLimits,
): TrainResult {
  const settings = compression.settings(params.round);
  assertCompressedTrainAnswer(answer, params.weights, codec, settings, limits);
  return {
    weights: {},
    numExamples: answer.numExamples,
    ...(answer.metrics === undefined ? {} : { metrics: answer.metrics }),
    compressed: { base: params.weights, codec, settings, tensors: answer.update },
  };
}

/** The result of `method` as the strategy may use it, or INVALID_RESULT. */
function checked<L, M extends keyof L>(
  method: M,
  answer: unknown,
  params: ParamsOf<L, M>,
  client: NodeId,
  limits: ResultLimits,
  validate: ((result: unknown, client: NodeId) => ResultOf<L, M>) | undefined,
): ResultOf<L, M> {
  if (method === 'train') {
    assertTrainResult(answer, (params as { weights: Weights }).weights, limits);
  } else if (method === 'evaluate') {
    assertEvaluateResult(answer, limits);
  } else if (validate) {
    try {
      return validate(answer, client);
    } catch (error) {
      throw new OiafedError(
        'INVALID_RESULT',
        `${String(method)} result refused: ${boundedText(error instanceof Error ? error.message : error)}`,
      );
    }
  }
  return answer as ResultOf<L, M>;
}

/** A learner's failure as it is kept and shown: every text from the peer bounded and escaped. */
export function failureOf(client: NodeId, error: unknown): ClientFailure {
  return {
    client: boundedText(client),
    code: boundedText(asOiafedError(error).code, 64),
    message: boundedText(error instanceof Error ? error.message : error),
  };
}
