import type { NodeId } from '../../wire/envelope.js';
import { isPlainObject } from '../weights.js';
import { KEY_BYTES, SEAL_OVERHEAD } from './keys.js';
import { ADVERTISE, DELIVER, SHARE_KEYS } from './messages.js';
import type { SecureRoundState, Sharing } from './round-state.js';
import { SHARE_BYTES } from './shamir.js';

/** A sealed share: the two 66-byte share values, a nonce and a tag. */
const SEALED_SHARE_BYTES = 2 * SHARE_BYTES + SEAL_OVERHEAD;

/** Phase 1: every selected learner makes two key pairs and advertises their public halves. */
export async function advertiseKeys(round: SecureRoundState): Promise<NodeId[]> {
  const { secure, start } = round;
  const outcome = await round.gather(
    ADVERTISE,
    round.ids,
    (id) => ({
      session: round.session,
      round: start.round,
      x: round.x.get(id)!,
      neighbours: round.graph.get(id)!.map((n) => ({ id: n, x: round.x.get(n)! })),
      threshold: round.threshold,
      bits: secure.bits,
      levels: round.levels,
      clip: secure.clipRange,
      maxExamples: secure.maxExamples,
    }),
    (id, keys) => round.keys.set(id, keys),
    (result) => {
      if (!isPlainObject(result) || !isKey(result.c) || !isKey(result.s))
        throw new Error(`keys must be two ${KEY_BYTES}-byte Uint8Arrays`);
      return { c: result.c, s: result.s };
    },
  );
  return round.enough(outcome.succeeded, 'advertise keys');
}

/**
 * Phase 2: each learner seals a share of its two secrets to every neighbour that advertised;
 * the trainer routes them, and each receiver says which did not open (their senders are left out).
 */
export async function shareKeys(round: SecureRoundState, advertised: readonly NodeId[]): Promise<Sharing> {
  const inbox = new Map<NodeId, { from: NodeId; sealed: Uint8Array }[]>();
  const live = new Set(advertised);
  const sent = await round.gather(
    SHARE_KEYS,
    round.viable(live),
    (id) => ({
      session: round.session,
      keys: round.neighbours(id, live).map((n) => ({ id: n, ...round.keys.get(n)! })),
    }),
    (id, { shares, commitment }) => {
      round.commitments.set(id, commitment);
      for (const { to, sealed } of shares) {
        let box = inbox.get(to);
        if (!box) inbox.set(to, (box = []));
        box.push({ from: id, sealed });
      }
    },
    (result, id) => {
      const expected = new Set(round.neighbours(id, live));
      if (!isPlainObject(result) || !Array.isArray(result.shares) || result.shares.length !== expected.size)
        throw new Error(`shares must be one for each of its ${expected.size} neighbours`);
      for (const share of result.shares as unknown[]) {
        if (!isPlainObject(share) || typeof share.to !== 'string' || !expected.delete(share.to))
          throw new Error('a share is for no neighbour, or for one twice');
        if (!(share.sealed instanceof Uint8Array) || share.sealed.length !== SEALED_SHARE_BYTES)
          throw new Error(`a sealed share must be a ${SEALED_SHARE_BYTES}-byte Uint8Array`);
      }
      if (!isKey(result.commitment)) throw new Error(`the commitment must be a ${KEY_BYTES}-byte Uint8Array`);
      return {
        shares: result.shares as { to: NodeId; sealed: Uint8Array }[],
        commitment: result.commitment,
      };
    },
  );
  const shared = new Set(round.enough(sent.succeeded, 'share keys'));
  const refusedBy = new Map<NodeId, NodeId>();
  const delivered = await round.gather(
    DELIVER,
    round.viable(shared),
    (id) => ({
      session: round.session,
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
    round.failed(from, `its share for ${by} did not open: left out of the round`);
  }
  return { holders, masked: new Map() };
}

function isKey(value: unknown): value is Uint8Array {
  return value instanceof Uint8Array && value.length === KEY_BYTES;
}
