import type { NodeId } from '../../wire/envelope.js';
import { OiafedError } from '../../wire/errors.js';
import type { Learner } from '../learner.js';
import { assertTrainResult } from '../result-validation.js';
import { agreeKey, commitment, generateKeyPair, open, randomBytes, seal, type KeyPair } from './keys.js';
import { addMask, expandMask, subtractMask } from './mask.js';
import {
  ADVERTISE,
  DELIVER,
  MASKED_INPUT,
  SHARE_KEYS,
  UNMASK,
  type AdvertiseParams,
  type AdvertiseResult,
  type DeliverParams,
  type DeliverResult,
  type MaskedInputParams,
  type MaskedInputResult,
  type SecureAggregationMethods,
  type ShareKeysParams,
  type ShareKeysResult,
  type UnmaskParams,
  type UnmaskResult,
} from './messages.js';
import { quantizeInto } from './quantize.js';
import { bigIntToBytes, bytesToBigInt, SHARE_BYTES, splitSecret } from './shamir.js';
import { flatLayout } from './layout.js';

/** What a learner keeps of one round attempt, from key advertisement to unmasking. */
interface Session {
  readonly params: AdvertiseParams;
  readonly c: KeyPair;
  readonly s: KeyPair;
  /** The self-mask seed. */
  readonly b: Uint8Array;
  /** Neighbours' public mask keys, from phase 2. */
  masks?: Map<NodeId, Uint8Array>;
  /** Neighbours' sealing keys, agreed in phase 2. */
  sealing?: Map<NodeId, Uint8Array>;
  /** The shares neighbours gave us: their self-mask seed's and their mask key's. */
  held?: Map<NodeId, { b: Uint8Array; s: Uint8Array }>;
  masked?: boolean;
  unmasked?: boolean;
}

/**
 * The learner's side of SecAgg+ (Bell et al. 2020), served by `serveLearner` next to the learner's
 * own methods: the learner writes nothing for it. It trains when asked for its masked input, so its
 * update leaves it only masked. It keeps one round attempt at a time, and it never reveals both the
 * self-mask share and the mask-key share of one neighbour: with both, the trainer could unmask
 * that neighbour's update alone.
 */
export class SecureAggregationClient implements SecureAggregationMethods {
  readonly #learner: Learner;
  #session: Session | undefined;

  constructor(learner: Learner) {
    this.#learner = learner;
  }

  async [ADVERTISE](params: AdvertiseParams): Promise<AdvertiseResult> {
    checkAdvertise(params);
    const [c, s] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    this.#session = { params, c, s, b: randomBytes(32) };
    return { c: c.publicKey, s: s.publicKey };
  }

  async [SHARE_KEYS]({ session, keys }: ShareKeysParams): Promise<ShareKeysResult> {
    const state = this.#state(session);
    if (state.masks) throw refused('keys were already shared in this session');
    const { neighbours, threshold } = state.params;
    const xOf = new Map(neighbours.map((n) => [n.id, n.x]));
    if (!Array.isArray(keys) || keys.length < threshold || keys.length > neighbours.length)
      throw refused(`${Array.isArray(keys) ? keys.length : 'no'} neighbour keys, need ${threshold} or more`);
    const seen = new Set<NodeId>();
    for (const k of keys) {
      if (!xOf.has(k.id) || seen.has(k.id)) throw refused(`key of ${k.id}, not a neighbour or repeated`);
      seen.add(k.id);
    }
    const xs = keys.map((k) => xOf.get(k.id)!);
    const bShares = splitSecret(bytesToBigInt(state.b), threshold, xs);
    const sShares = splitSecret(bytesToBigInt(state.s.privateKey), threshold, xs);
    state.masks = new Map(keys.map((k) => [k.id, k.s]));
    state.sealing = new Map();
    const self = state.params.x;
    const shares = await Promise.all(
      keys.map(async (k, i) => {
        const key = await agreeKey(state.c.key, k.c, `oiafed secagg seal ${session}`);
        state.sealing!.set(k.id, key);
        const plain = new Uint8Array(2 * SHARE_BYTES);
        plain.set(bigIntToBytes(bShares[i]!.y, SHARE_BYTES));
        plain.set(bigIntToBytes(sShares[i]!.y, SHARE_BYTES), SHARE_BYTES);
        return { to: k.id, sealed: await seal(key, plain, sealContext(session, self, xs[i]!)) };
      }),
    );
    return { shares, commitment: await commitment(state.b) };
  }

  async [DELIVER]({ session, shares }: DeliverParams): Promise<DeliverResult> {
    const state = this.#state(session);
    if (!state.sealing || state.held) throw refused('shares delivered out of turn');
    const xOf = new Map(state.params.neighbours.map((n) => [n.id, n.x]));
    const held = new Map<NodeId, { b: Uint8Array; s: Uint8Array }>();
    const refusedFrom: NodeId[] = [];
    await Promise.all(
      shares.map(async ({ from, sealed }) => {
        const key = state.sealing!.get(from);
        const x = xOf.get(from);
        const plain =
          key && x !== undefined && sealed instanceof Uint8Array && !held.has(from)
            ? await open(key, sealed, sealContext(session, x, state.params.x))
            : undefined;
        if (plain?.length !== 2 * SHARE_BYTES) return void refusedFrom.push(from);
        held.set(from, { b: plain.subarray(0, SHARE_BYTES), s: plain.subarray(SHARE_BYTES) });
      }),
    );
    state.held = held;
    return { refused: refusedFrom };
  }

  async [MASKED_INPUT]({
    session,
    train,
    maskWith,
    equalWeights,
  }: MaskedInputParams): Promise<MaskedInputResult> {
    const state = this.#state(session);
    if (!state.held || state.masked) throw refused('masked input asked out of turn');
    state.masked = true;
    const { clip, levels, bits, maxExamples } = state.params;
    for (const id of maskWith)
      if (!state.held.has(id) || !state.masks!.has(id))
        throw refused(`asked to mask with ${id}, whose shares it holds none of`);
    const result = await this.#learner.train(train);
    // Our own learner's result, checked as the trainer would check it in the clear.
    assertTrainResult(result, train.weights, { maxExamples });
    const weight = equalWeights === true ? 1 : result.numExamples;
    const layout = flatLayout(train.weights);
    const vector = new Uint32Array(layout.size + 1);
    const delta = new Float32Array(layout.largest);
    for (const { name, offset, length } of layout.tensors) {
      const global = train.weights[name]!.data;
      const local = result.weights[name]!.data;
      const d = delta.subarray(0, length);
      for (let i = 0; i < length; i++) d[i] = local[i]! - global[i]!;
      quantizeInto(d, clip, levels, weight, vector, offset);
    }
    // The weight is the last word, left unmasked: the trainer checks it against the count sent beside.
    vector[layout.size] = weight;
    addMask(vector, await expandMask(state.b, layout.size), bits);
    const xOf = new Map(state.params.neighbours.map((n) => [n.id, n.x]));
    await Promise.all(
      maskWith.map(async (id) => {
        const seed = await agreeKey(state.s.key, state.masks!.get(id)!, `oiafed secagg mask ${session}`);
        const mask = await expandMask(seed, layout.size);
        // One of the pair adds the mask and the other takes it away, so the pair's masks cancel in the sum.
        if (pairSign(state.params.x, xOf.get(id)!) > 0) addMask(vector, mask, bits);
        else subtractMask(vector, mask, bits);
      }),
    );
    return { masked: vector, numExamples: result.numExamples, metrics: result.metrics ?? {} };
  }

  async [UNMASK]({ session, survivors, dropped }: UnmaskParams): Promise<UnmaskResult> {
    const state = this.#state(session);
    if (!state.masked || state.unmasked) throw refused('unmasking asked out of turn');
    state.unmasked = true;
    const asked = new Set<NodeId>();
    for (const id of [...survivors, ...dropped]) {
      if (asked.has(id)) throw refused(`asked for two shares of ${id}`);
      asked.add(id);
    }
    if (survivors.length + 1 < state.params.threshold)
      throw refused(
        `${survivors.length + 1} survivors among its neighbours and itself, fewer than the threshold`,
      );
    const share = (id: NodeId, which: 'b' | 's') => {
      const held = state.held!.get(id);
      if (!held) throw refused(`holds no share of ${id}`);
      return held[which];
    };
    const out = {
      survivors: survivors.map((id) => share(id, 'b')),
      dropped: dropped.map((id) => share(id, 's')),
    };
    this.#session = undefined;
    return out;
  }

  #state(session: string): Session {
    const state = this.#session;
    if (state?.params.session !== session)
      throw refused('no such session (a newer round attempt replaced it)');
    return state;
  }
}

/** +1 when the learner at x `self` adds the pair's mask, -1 when it takes it away: the lower x adds. */
export function pairSign(self: number, other: number): 1 | -1 {
  return self < other ? 1 : -1;
}

/** What a sealed share is bound to: the session, and the x of its sender and its receiver. */
export function sealContext(session: string, from: number, to: number): string {
  return `${session}|${from}|${to}`;
}

function refused(message: string): OiafedError {
  return new OiafedError('INVALID_CONFIG', `secure aggregation: ${message}`);
}

function checkAdvertise(p: AdvertiseParams): void {
  const ok =
    typeof p.session === 'string' &&
    Number.isSafeInteger(p.x) &&
    Array.isArray(p.neighbours) &&
    Number.isInteger(p.threshold) &&
    p.threshold >= 1 &&
    p.threshold <= p.neighbours.length &&
    Number.isInteger(p.bits) &&
    p.bits >= 1 &&
    p.bits <= 32 &&
    Number.isInteger(p.levels) &&
    p.levels >= 2 &&
    p.clip > 0 &&
    Number.isSafeInteger(p.maxExamples) &&
    p.maxExamples >= 1;
  if (!ok) throw refused('malformed round parameters');
}
