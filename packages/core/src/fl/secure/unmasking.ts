import { boundedText } from '../../wire/bounded-text.js';
import type { NodeId } from '../../wire/envelope.js';
import { isPlainObject } from '../weights.js';
import { agreeKey, commitment, importPrivateKey, KEY_BYTES, publicKeyOf } from './keys.js';
import { pairSign } from './learner-side.js';
import { addMask, expandMask, subtractMask } from './mask.js';
import { UNMASK } from './messages.js';
import type { SecureRoundState, Sharing } from './round-state.js';
import { bigIntToBytes, bytesToBigInt, combineShares, PRIME, SHARE_BYTES, type Share } from './shamir.js';

/**
 * Phase 4 and the sum: survivors reveal their shares; each survivor's self mask and each dropped
 * learner's pairwise masks are rebuilt and taken out of `sum`, in place.
 */
export async function unmask(
  round: SecureRoundState,
  sum: Uint32Array,
  survivorList: readonly NodeId[],
  sharing: Sharing,
): Promise<void> {
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
  await round.gather(
    UNMASK,
    survivorList,
    (id) => ({ session: round.session, ...requests.get(id)! }),
    (id, result) => {
      const x = round.x.get(id)!;
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
  const bits = round.secure.bits;
  // Every word but the last, the weights' sum, which the learners sent unmasked.
  const masked = sum.length - 1;
  for (const id of survivors) {
    const committed = round.commitments.get(id)!;
    const seed = await rebuild(round, selfShares, id, 'self-mask seed', async (b) =>
      sameBytes(await commitment(b), committed),
    );
    subtractMask(sum, await expandMask(seed, masked), bits);
  }
  for (const id of dropped) {
    // A wrong share rebuilds another key: its public half gives it away.
    const advertised = round.keys.get(id)!.s;
    const raw = await rebuild(round, keyShares, id, 'mask key', async (k) =>
      sameBytes(await publicKeyOf(await importPrivateKey(k)), advertised),
    );
    const key = await importPrivateKey(raw);
    const x = round.x.get(id)!;
    for (const other of round.graph.get(id)!) {
      if (!survivors.has(other) || !sharing.masked.get(other)!.includes(id)) continue;
      const seed = await agreeKey(key, round.keys.get(other)!.s, `oiafed secagg mask ${round.session}`);
      const mask = await expandMask(seed, masked);
      // `other` added its side of the pair: undo it.
      if (pairSign(round.x.get(other)!, x) > 0) subtractMask(sum, mask, bits);
      else addMask(sum, mask, bits);
    }
  }
}

/**
 * The secret `of` shared, rebuilt from `threshold` shares and checked by `matches`. When it does
 * not match and there are shares to spare, one share at a time is left out: the learner whose
 * share that was sent a wrong one, and is reported.
 */
async function rebuild(
  round: SecureRoundState,
  shares: Map<NodeId, Share[]>,
  of: NodeId,
  what: string,
  matches: (secret: Uint8Array) => Promise<boolean>,
): Promise<Uint8Array> {
  const t = round.threshold;
  // In the learners' order, not their answers': which shares are used does not depend on timing.
  const got = (shares.get(of) ?? []).sort((a, b) => a.x - b.x);
  if (got.length < t)
    throw round.fail(
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
    const liar = [...round.x].find(([, x]) => x === got[i]!.x)![0];
    round.failed(liar, `sent a wrong share of ${of}'s ${what}: left out of the unmasking`);
    return candidate;
  }
  throw round.fail('unmask', `the shares of ${boundedText(of)}'s ${what} do not rebuild it (wrong shares)`);
}

/** The 32-byte secret `threshold` of `shares` rebuild, or undefined when wrong shares make a larger number. */
function secretOf(shares: readonly Share[], threshold: number): Uint8Array | undefined {
  const value = combineShares(shares, threshold);
  return value < 1n << BigInt(8 * KEY_BYTES) ? bigIntToBytes(value, KEY_BYTES) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
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
