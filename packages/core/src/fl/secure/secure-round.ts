import { boundedText } from '../../wire/bounded-text.js';
import type { NodeId } from '../../wire/envelope.js';
import { OiafedError } from '../../wire/errors.js';
import type { Cohort, GatherOutcome, ParamsOf } from '../cohort.js';
import type { ResultOf } from '../../rpc/proxy.js';
import type { TrainingOutcome } from '../fedbuff.js';
import { assertEvaluateResult } from '../result-validation.js';
import type { ClientFailure } from '../round.js';
import type { TrainParams } from '../learner.js';
import type { RoundStart, Strategy } from '../strategy.js';
import { isPlainObject, type Metrics, type Weights } from '../weights.js';
import { defaultDegree, defaultThreshold, neighbourGraph } from './graph.js';
import { agreeKey, commitment, importPrivateKey, KEY_BYTES, publicKeyOf, SEAL_OVERHEAD } from './keys.js';
import { flatLayout } from './layout.js';
import { pairSign } from './learner-side.js';
import { addMask, expandMask, modulusMask, subtractMask } from './mask.js';
import {
  ADVERTISE,
  DELIVER,
  MASKED_INPUT,
  SHARE_KEYS,
  UNMASK,
  type AdvertiseResult,
  type SecureAggregationPhase,
  type SecureLearner,
} from './messages.js';
import type { ResolvedSecureAggregation } from './options.js';
import { dequantizeInto, quantizationLevels } from './quantize.js';
import { bigIntToBytes, bytesToBigInt, combineShares, PRIME, SHARE_BYTES, type Share } from './shamir.js';

/**
 * A synchronous round's training under SecAgg+ (Bell et al. 2020; Bonawitz et al. 2017 on the full
 * graph), driven through the cohort one phase at a time: key advertisement, share exchange (the
 * sealed shares routed through the trainer, then delivered), masked input (each learner trains and
 * answers only its masked update), unmasking (survivors reveal self-mask shares of survivors and
 * mask-key shares of the dropped), and the sum. The trainer sees masked vectors and the sum only.
 *
 * A learner that fails or answers malformed data at any phase is left out (and reported); the round
 * fails with ROUND_FAILED naming the phase when a dropped learner's neighbours, or a survivor's,
 * fall below the threshold, or fewer than `minResults` masked inputs arrive.
 */
export async function trainSecurely(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  clients: readonly NodeId[],
  { minResults, secure }: { minResults: number; secure: ResolvedSecureAggregation },
): Promise<TrainingOutcome> {
  const outcome = await secureSum(strategy, start, cohort, clients, { minResults, secure });
  const { sum, survivors, metrics, failures, levels } = outcome;
  const layout = flatLayout(start.weights);
  const total = sum[layout.size]!;
  const equal = strategy.aggregateSecureSum !== undefined;
  // Weighed by 1, the sum's last word counts the survivors: anything else is a learner's lie.
  if (equal && total !== survivors.length)
    throw new OiafedError(
      'ROUND_FAILED',
      `round ${start.round}: secure aggregation failed in phase unmask: the unmasked weight is ${total}, not the ${survivors.length} survivors`,
    );
  // Each learner's example count is hidden in the sum: the survivors share the total evenly.
  const parts = metrics.map((m) => ({ numExamples: total / survivors.length, metrics: m }));
  const weights: Weights = {};
  for (const { name, offset, length } of layout.tensors) {
    const global = start.weights[name]!;
    const data = new Float32Array(length);
    dequantizeInto(sum, offset, total, secure.clipRange, levels, data);
    // The mean update, back to a model; or, weighed alike, to the updates' sum for the strategy.
    if (equal) for (let i = 0; i < length; i++) data[i] = data[i]! * total;
    else for (let i = 0; i < length; i++) data[i] = data[i]! + global.data[i]!;
    weights[name] = { shape: [...global.shape], data };
  }
  const aggregate = equal
    ? strategy.aggregateSecureSum!(start, weights, survivors.length)
    : { weights, rejected: [] };
  return { aggregate, clients: [...clients], parts, failures, stale: 0 };
}

/** What the protocol gives the trainer: the sum of the survivors' encoded updates, and no one update. */
export interface SecureSum {
  /** The sum modulo 2^bits of each survivor's weighted levels, then of their example counts. */
  sum: Uint32Array;
  /** Whose inputs are in the sum. */
  survivors: NodeId[];
  /** The survivors' training metrics (sent in the clear). */
  metrics: Metrics[];
  failures: ClientFailure[];
  /** The quantisation levels of the round. */
  levels: number;
}

/** The protocol's phases, to the unmasked sum (see `trainSecurely`). */
export function secureSum(
  strategy: Strategy,
  start: RoundStart,
  cohort: Cohort,
  clients: readonly NodeId[],
  { minResults, secure }: { minResults: number; secure: ResolvedSecureAggregation },
): Promise<SecureSum> {
  return new SecureRound(strategy, start, cohort, clients, secure).run(minResults);
}

class SecureRound {
  readonly #failures: ClientFailure[] = [];
  readonly #session = hex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
  readonly #ids: NodeId[];
  readonly #x = new Map<NodeId, number>();
  readonly #graph: Map<NodeId, NodeId[]>;
  readonly #threshold: number;
  readonly #levels: number;
  readonly #keys = new Map<NodeId, AdvertiseResult>();
  readonly #commitments = new Map<NodeId, Uint8Array>();

  constructor(
    private readonly strategy: Strategy,
    private readonly start: RoundStart,
    private readonly cohort: Cohort<SecureLearner>,
    clients: readonly NodeId[],
    private readonly secure: ResolvedSecureAggregation,
  ) {
    // A learner's x is its place in the sorted selection: what its shares are evaluated at.
    this.#ids = [...clients].sort();
    this.#ids.forEach((id, i) => this.#x.set(id, i + 1));
    const n = this.#ids.length;
    const degree = Math.min(n - 1, secure.degree ?? defaultDegree(n));
    this.#threshold = secure.threshold ?? defaultThreshold(degree);
    this.#graph = neighbourGraph(this.#ids, degree, cryptoRandom);
    this.#levels = quantizationLevels(secure.bits, n, secure.maxExamples);
    if (n < 2 || this.#threshold > degree)
      throw this.#fail(
        'advertise keys',
        `${n} learners with ${degree} neighbours each cannot meet threshold ${this.#threshold}`,
      );
    if (this.#levels < 2)
      throw this.#fail(
        'advertise keys',
        `${n} learners of up to ${secure.maxExamples} examples leave no quantisation level in ${secure.bits} bits`,
      );
  }

  async run(minResults: number): Promise<SecureSum> {
    const advertised = await this.#advertise();
    const sharing = await this.#shareKeys(advertised);
    const { sum, survivors, metrics } = await this.#maskedInput(sharing, minResults);
    await this.#unmask(sum, survivors, sharing);
    if (sum[sum.length - 1]! < 1) throw this.#fail('unmask', 'the unmasked example count is 0');
    return { sum, survivors, metrics, failures: this.#failures, levels: this.#levels };
  }

  /** Phase 1: every selected learner makes two key pairs and advertises their public halves. */
  async #advertise(): Promise<NodeId[]> {
    const { secure, start } = this;
    const outcome = await this.#gather(
      ADVERTISE,
      this.#ids,
      (id) => ({
        session: this.#session,
        round: start.round,
        x: this.#x.get(id)!,
        neighbours: this.#graph.get(id)!.map((n) => ({ id: n, x: this.#x.get(n)! })),
        threshold: this.#threshold,
        bits: secure.bits,
        levels: this.#levels,
        clip: secure.clipRange,
        maxExamples: secure.maxExamples,
      }),
      (id, keys) => this.#keys.set(id, keys),
      (result) => {
        if (!isPlainObject(result) || !isKey(result.c) || !isKey(result.s))
          throw new Error(`keys must be two ${KEY_BYTES}-byte Uint8Arrays`);
        return { c: result.c, s: result.s };
      },
    );
    return this.#enough(outcome.succeeded, 'advertise keys');
  }

  /**
   * Phase 2: each learner seals a share of its two secrets to every neighbour that advertised;
   * the trainer routes them, and each receiver says which did not open (their senders are left out).
   */
  async #shareKeys(advertised: readonly NodeId[]): Promise<Sharing> {
    const inbox = new Map<NodeId, { from: NodeId; sealed: Uint8Array }[]>();
    const live = new Set(advertised);
    const sent = await this.#gather(
      SHARE_KEYS,
      this.#viable(live),
      (id) => ({
        session: this.#session,
        keys: this.#neighbours(id, live).map((n) => ({ id: n, ...this.#keys.get(n)! })),
      }),
      (id, { shares, commitment }) => {
        this.#commitments.set(id, commitment);
        for (const { to, sealed } of shares) {
          let box = inbox.get(to);
          if (!box) inbox.set(to, (box = []));
          box.push({ from: id, sealed });
        }
      },
      (result, id) => {
        const expected = new Set(this.#neighbours(id, live));
        if (!isPlainObject(result) || !Array.isArray(result.shares) || result.shares.length !== expected.size)
          throw new Error(`shares must be one for each of its ${expected.size} neighbours`);
        for (const share of result.shares as unknown[]) {
          if (!isPlainObject(share) || typeof share.to !== 'string' || !expected.delete(share.to))
            throw new Error('a share is for no neighbour, or for one twice');
          if (!(share.sealed instanceof Uint8Array) || share.sealed.length !== SEALED_SHARE_BYTES)
            throw new Error(`a sealed share must be a ${SEALED_SHARE_BYTES}-byte Uint8Array`);
        }
        if (!isKey(result.commitment))
          throw new Error(`the commitment must be a ${KEY_BYTES}-byte Uint8Array`);
        return {
          shares: result.shares as { to: NodeId; sealed: Uint8Array }[],
          commitment: result.commitment,
        };
      },
    );
    const shared = new Set(this.#enough(sent.succeeded, 'share keys'));
    const refusedBy = new Map<NodeId, NodeId>();
    const delivered = await this.#gather(
      DELIVER,
      this.#viable(shared),
      (id) => ({
        session: this.#session,
        shares: (inbox.get(id) ?? []).filter((s) => shared.has(s.from)),
      }),
      (id, { refused }) => {
        for (const from of refused) refusedBy.set(from, id);
      },
      (result) => {
        if (
          !isPlainObject(result) ||
          !Array.isArray(result.refused) ||
          !result.refused.every((r) => typeof r === 'string')
        )
          throw new Error('refused must be a list of ids');
        return { refused: result.refused };
      },
    );
    const holders = new Set(delivered.succeeded);
    for (const [from, by] of refusedBy) {
      if (!holders.delete(from)) continue;
      this.#failed(from, `its share for ${by} did not open: left out of the round`);
    }
    return { holders, masked: new Map() };
  }

  /**
   * Phase 3: each learner still in trains and answers its masked update; the masked vectors are
   * summed as they arrive (modulo 2^bits), so the trainer holds one vector whatever n.
   */
  async #maskedInput(
    sharing: Sharing,
    minResults: number,
  ): Promise<{ sum: Uint32Array; survivors: NodeId[]; metrics: Metrics[] }> {
    const { start, strategy, secure } = this;
    const length = flatLayout(start.weights).size + 1;
    const sum = new Uint32Array(length);
    const metrics: Metrics[] = [];
    // A learner the strategy leaves out of training is out of the masking too.
    const trains = new Map<NodeId, TrainParams>();
    for (const id of sharing.holders) {
      const train = strategy.configureTrain(start, id);
      if (train) trains.set(id, train);
    }
    const asked = this.#viable(new Set(trains.keys()));
    const inputs = new Set(asked);
    const outcome = await this.#gather(
      MASKED_INPUT,
      asked,
      (id) => {
        const maskWith = this.#neighbours(id, inputs);
        sharing.masked.set(id, maskWith);
        return {
          session: this.#session,
          train: trains.get(id)!,
          maskWith,
          ...(strategy.aggregateSecureSum ? { equalWeights: true } : {}),
        };
      },
      (_id, result) => {
        addMask(sum, result.masked, secure.bits);
        metrics.push(result.metrics);
      },
      (result) => {
        if (
          !isPlainObject(result) ||
          !(result.masked instanceof Uint32Array) ||
          result.masked.length !== length
        )
          throw new Error(`the masked input must be a Uint32Array of ${length} values`);
        const top = modulusMask(secure.bits) >>> 0;
        if (secure.bits < 32 && result.masked.some((v) => v > top))
          throw new Error(`a masked value is not below 2^${secure.bits}`);
        // The metrics travel in the clear: checked as an evaluation's are.
        assertEvaluateResult({ numExamples: 0, metrics: result.metrics }, { maxExamples: 0 });
        return { masked: result.masked, metrics: result.metrics as Metrics };
      },
    );
    const survivors = outcome.succeeded;
    if (survivors.length < minResults)
      throw this.#fail(
        'masked input',
        `${survivors.length} masked inputs, fewer than minResults ${minResults}`,
      );
    return { sum, survivors, metrics };
  }

  /**
   * Phase 4 and the sum: survivors reveal their shares; each survivor's self mask and each dropped
   * learner's pairwise masks are rebuilt and taken out of the sum.
   */
  async #unmask(sum: Uint32Array, survivorList: readonly NodeId[], sharing: Sharing): Promise<void> {
    const survivors = new Set(survivorList);
    // Asked to mask, not among the survivors: their masks with the survivors are in the sum.
    const dropped = new Set([...sharing.masked.keys()].filter((id) => !survivors.has(id)));
    const selfShares = new Map<NodeId, Share[]>();
    const keyShares = new Map<NodeId, Share[]>();
    const requests = new Map<NodeId, { survivors: NodeId[]; dropped: NodeId[] }>();
    for (const id of survivors) {
      const near = sharing.masked.get(id)!;
      requests.set(id, {
        survivors: near.filter((n) => survivors.has(n)),
        dropped: near.filter((n) => dropped.has(n)),
      });
    }
    await this.#gather(
      UNMASK,
      survivorList,
      (id) => ({ session: this.#session, ...requests.get(id)! }),
      (id, result) => {
        const x = this.#x.get(id)!;
        const asked = requests.get(id)!;
        const keep = (into: Map<NodeId, Share[]>, of: NodeId, y: bigint) => {
          let list = into.get(of);
          if (!list) into.set(of, (list = []));
          list.push({ x, y });
        };
        asked.survivors.forEach((of, i) => keep(selfShares, of, bytesToBigInt(result.survivors[i]!)));
        asked.dropped.forEach((of, i) => keep(keyShares, of, bytesToBigInt(result.dropped[i]!)));
      },
      (result, id) => {
        const asked = requests.get(id)!;
        if (!isPlainObject(result)) throw new Error('unmask result is not an object');
        return {
          survivors: shareValues(result.survivors, asked.survivors.length),
          dropped: shareValues(result.dropped, asked.dropped.length),
        };
      },
    );
    const t = this.#threshold;
    const bits = this.secure.bits;
    const byX = new Map([...this.#x].map(([id, x]) => [x, id]));
    /**
     * The secret `of` shared, rebuilt from `threshold` shares and checked by `matches`. When it does
     * not match and there are shares to spare, one share at a time is left out: the learner whose
     * share that was sent a wrong one, and is reported.
     */
    const rebuild = async (
      shares: Map<NodeId, Share[]>,
      of: NodeId,
      what: string,
      matches: (secret: Uint8Array) => Promise<boolean>,
    ): Promise<Uint8Array> => {
      // In the learners' order, not their answers': which shares are used does not depend on timing.
      const got = (shares.get(of) ?? []).sort((a, b) => a.x - b.x);
      if (got.length < t)
        throw this.#fail(
          'unmask',
          `${got.length} shares of ${boundedText(of)}'s ${what}, fewer than the threshold ${t}`,
        );
      const secret = secretOf(got, t);
      if (secret && (await matches(secret))) return secret;
      for (let i = 0; i < t && got.length > t; i++) {
        const candidate = secretOf(
          got.filter((_, j) => j !== i),
          t,
        );
        if (!candidate || !(await matches(candidate))) continue;
        this.#failed(byX.get(got[i]!.x)!, `sent a wrong share of ${of}'s ${what}: left out of the unmasking`);
        return candidate;
      }
      throw this.#fail(
        'unmask',
        `the shares of ${boundedText(of)}'s ${what} do not rebuild it (wrong shares)`,
      );
    };
    for (const id of survivors) {
      const committed = this.#commitments.get(id)!;
      const seed = await rebuild(selfShares, id, 'self-mask seed', async (b) =>
        sameBytes(await commitment(b), committed),
      );
      subtractMask(sum, await expandMask(seed, sum.length), bits);
    }
    for (const id of dropped) {
      // A wrong share rebuilds another key: its public half gives it away.
      const advertised = this.#keys.get(id)!.s;
      const raw = await rebuild(keyShares, id, 'mask key', async (k) =>
        sameBytes(await publicKeyOf(await importPrivateKey(k)), advertised),
      );
      const key = await importPrivateKey(raw);
      const x = this.#x.get(id)!;
      for (const other of this.#graph.get(id)!) {
        if (!survivors.has(other) || !sharing.masked.get(other)!.includes(id)) continue;
        const seed = await agreeKey(key, this.#keys.get(other)!.s, `oiafed secagg mask ${this.#session}`);
        const mask = await expandMask(seed, sum.length);
        // `other` added its side of the pair: undo it.
        if (pairSign(this.#x.get(other)!, x) > 0) subtractMask(sum, mask, bits);
        else addMask(sum, mask, bits);
      }
    }
  }

  /** Of `live`, the learners with at least `threshold` neighbours in `live` (the others cannot be unmasked). */
  #viable(live: ReadonlySet<NodeId>): NodeId[] {
    const kept = new Set(live);
    for (let changed = true; changed;) {
      changed = false;
      for (const id of kept) {
        if (this.#neighbours(id, kept).length >= this.#threshold) continue;
        kept.delete(id);
        changed = true;
      }
    }
    return this.#ids.filter((id) => kept.has(id));
  }

  #neighbours(id: NodeId, live: ReadonlySet<NodeId>): NodeId[] {
    return this.#graph.get(id)!.filter((n) => live.has(n));
  }

  #enough(ids: readonly NodeId[], phase: SecureAggregationPhase): NodeId[] {
    if (ids.length > this.#threshold) return [...ids];
    throw this.#fail(phase, `${ids.length} learners answered, at most the threshold ${this.#threshold}`);
  }

  async #gather<M extends Phase>(
    method: M,
    ids: readonly NodeId[],
    paramsFor: (id: NodeId) => ParamsOf<SecureLearner, M> | undefined,
    onResult: (id: NodeId, result: ResultOf<SecureLearner, M>) => void,
    validate: (result: unknown, id: NodeId) => ResultOf<SecureLearner, M>,
  ): Promise<GatherOutcome> {
    const outcome = await this.cohort.gather(method, ids, paramsFor, onResult, { validate });
    this.#failures.push(...outcome.failures);
    return outcome;
  }

  /** A learner found lying after its answer was accepted: reported and counted as the cohort's failures are. */
  #failed(client: NodeId, message: string): void {
    const failure: ClientFailure = {
      client: boundedText(client),
      code: 'INVALID_RESULT',
      message: boundedText(message),
    };
    this.#failures.push(failure);
    this.cohort.fail(failure);
  }

  #fail(phase: SecureAggregationPhase, why: string): OiafedError {
    return new OiafedError(
      'ROUND_FAILED',
      `round ${this.start.round}: secure aggregation failed in phase ${phase}: ${why}`,
    );
  }
}

type Phase = typeof ADVERTISE | typeof SHARE_KEYS | typeof DELIVER | typeof MASKED_INPUT | typeof UNMASK;

interface Sharing {
  /** Learners holding their neighbours' shares (delivered, and none of their own refused). */
  holders: Set<NodeId>;
  /** Each learner asked for its masked input, and the neighbours it was told to mask with. */
  masked: Map<NodeId, NodeId[]>;
}

/** A sealed share: the two 66-byte share values, a nonce and a tag. */
const SEALED_SHARE_BYTES = 2 * SHARE_BYTES + SEAL_OVERHEAD;

/** The 32-byte secret `threshold` of `shares` rebuild, or undefined when wrong shares make a larger number. */
function secretOf(shares: readonly Share[], threshold: number): Uint8Array | undefined {
  const value = combineShares(shares, threshold);
  return value < 1n << BigInt(8 * KEY_BYTES) ? bigIntToBytes(value, KEY_BYTES) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === KEY_BYTES;
}

/** `count` shares, each SHARE_BYTES bytes holding an element of the field. */
function shareValues(value: unknown, count: number): Uint8Array[] {
  if (!Array.isArray(value) || value.length !== count) throw new Error(`expected ${count} shares`);
  return value.map((v: unknown) => {
    if (!(v instanceof Uint8Array) || v.length !== SHARE_BYTES)
      throw new Error(`a share must be ${SHARE_BYTES} bytes`);
    if (bytesToBigInt(v) >= PRIME) throw new Error('a share is not an element of the field');
    return v;
  });
}

function cryptoRandom(): number {
  return globalThis.crypto.getRandomValues(new Uint32Array(1))[0]! / 2 ** 32;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
