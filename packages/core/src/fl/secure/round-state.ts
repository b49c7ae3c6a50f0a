import { boundedText } from '../../wire/bounded-text.js';
import type { NodeId } from '../../wire/envelope.js';
import { OiafedError } from '../../wire/errors.js';
import type { Cohort, GatherOptions, GatherOutcome, ParamsOf } from '../cohort.js';
import type { ResultOf } from '../../rpc/proxy.js';
import type { ClientFailure } from '../round.js';
import type { RoundStart, Strategy } from '../strategy.js';
import { defaultDegree, defaultThreshold, neighbourGraph } from './graph.js';
import {
  type ADVERTISE,
  type AdvertiseResult,
  type DELIVER,
  type MASKED_INPUT,
  type SecureAggregationPhase,
  type SecureLearner,
  type SHARE_KEYS,
  type UNMASK,
} from './messages.js';
import type { ResolvedSecureAggregation } from './options.js';
import { quantizationLevels } from './quantize.js';

/** The methods a phase asks of learners. */
export type Phase =
  typeof ADVERTISE | typeof SHARE_KEYS | typeof DELIVER | typeof MASKED_INPUT | typeof UNMASK;

/** What the share exchange leaves for the masked input and the unmasking. */
export interface Sharing {
  /** Learners holding their neighbours' shares (delivered, and none of their own refused). */
  holders: Set<NodeId>;
  /** Each learner asked for its masked input, and the neighbours it was told to mask with. */
  masked: Map<NodeId, NodeId[]>;
}

/**
 * One attempt at a secure round, as its phases share it: the selection and each learner's x (its
 * place in the sorted selection, where its shares are evaluated), the neighbour graph, the
 * threshold and quantisation levels, the keys and commitments learners advertised, and the
 * failures so far. Its helpers ask learners through the cohort and name the phase a round fails in.
 */
export class SecureRoundState {
  readonly failures: ClientFailure[] = [];
  readonly session = hex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  readonly ids: NodeId[];
  readonly x = new Map<NodeId, number>();
  readonly graph: Map<NodeId, NodeId[]>;
  readonly threshold: number;
  readonly levels: number;
  readonly keys = new Map<NodeId, AdvertiseResult>();
  readonly commitments = new Map<NodeId, Uint8Array>();

  constructor(
    readonly strategy: Strategy,
    readonly start: RoundStart,
    readonly cohort: Cohort<SecureLearner>,
    clients: readonly NodeId[],
    readonly secure: ResolvedSecureAggregation,
  ) {
    this.ids = [...clients].sort();
    this.ids.forEach((id, i) => this.x.set(id, i + 1));
    const n = this.ids.length;
    const degree = Math.min(n - 1, secure.degree ?? defaultDegree(n));
    this.threshold = secure.threshold ?? defaultThreshold(degree);
    this.graph = neighbourGraph(this.ids, degree, cryptoRandom);
    this.levels = quantizationLevels(secure.bits, n, secure.maxExamples);
    if (n < 2 || this.threshold > degree)
      throw this.fail(
        'advertise keys',
        `${n} learners with ${degree} neighbours each cannot meet threshold ${this.threshold}`,
      );
    if (this.levels < 2)
      throw this.fail(
        'advertise keys',
        `${n} learners of up to ${secure.maxExamples} examples leave no quantisation level in ${secure.bits} bits`,
      );
  }

  /** Of `live`, the learners with at least `threshold` neighbours in `live` (the others cannot be unmasked). */
  viable(live: ReadonlySet<NodeId>): NodeId[] {
    const kept = new Set(live);
    for (let changed = true; changed;) {
      changed = false;
      for (const id of kept) {
        if (this.neighbours(id, kept).length >= this.threshold) continue;
        kept.delete(id);
        changed = true;
      }
    }
    return this.ids.filter((id) => kept.has(id));
  }

  neighbours(id: NodeId, live: ReadonlySet<NodeId>): NodeId[] {
    return this.graph.get(id)!.filter((n) => live.has(n));
  }

  /** `ids`, when more than the threshold answered; ROUND_FAILED naming `phase` otherwise. */
  enough(ids: readonly NodeId[], phase: SecureAggregationPhase): NodeId[] {
    if (ids.length > this.threshold) return [...ids];
    throw this.fail(phase, `${ids.length} learners answered, at most the threshold ${this.threshold}`);
  }

  /** Asks `ids` for `method` through the cohort, keeping its failures for the round's report. */
  async gather<M extends Phase>(
    method: M,
    ids: readonly NodeId[],
    paramsFor: (id: NodeId) => ParamsOf<SecureLearner, M> | undefined,
    onResult: (id: NodeId, result: ResultOf<SecureLearner, M>) => void,
    validate: (result: unknown, id: NodeId) => ResultOf<SecureLearner, M>,
    more: Omit<GatherOptions<ResultOf<SecureLearner, M>>, 'validate'> = {},
  ): Promise<GatherOutcome> {
    const options = { ...more, validate };
    const outcome = await this.cohort.gather(method, ids, paramsFor, onResult, options);
    this.failures.push(...outcome.failures);
    return outcome;
  }

  /** A learner found lying after its answer was accepted: reported and counted as the cohort's failures are. */
  failed(client: NodeId, message: string): void {
    const failure: ClientFailure = {
      client: boundedText(client),
      code: 'INVALID_RESULT',
      message: boundedText(message),
    };
    this.failures.push(failure);
    this.cohort.fail(failure);
  }

  /** The round's failure in `phase`. */
  fail(phase: SecureAggregationPhase, why: string): OiafedError {
    return new OiafedError(
      'ROUND_FAILED',
      `round ${this.start.round}: secure aggregation failed in phase ${phase}: ${why}`,
    );
  }
}

function cryptoRandom(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
