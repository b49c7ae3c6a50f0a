import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { deriveSeed, seededRandom, shuffle } from './random.js';

/** Which connected learners train in a round. */
export type Selection =
  | 'all'
  | { fraction: number }
  | ((clients: readonly NodeId[], round: number, random: () => number) => NodeId[]);

/**
 * Picks the round's learners. Random fractions draw from a generator seeded by (seed, round), so
 * a run, and a run resumed from a checkpoint, selects the same learners; a retry of a failed round
 * (`retry` > 0) draws afresh, as reproducibly.
 */
export function selectClients(selection: Selection, clients: readonly NodeId[], round: number, seed: number, retry = 0): NodeId[] {
  const sorted = [...clients].sort();
  const roundSeed = deriveSeed(seed, round);
  const random = seededRandom(retry === 0 ? roundSeed : deriveSeed(roundSeed, retry));
  if (selection === 'all') return sorted;
  if (typeof selection === 'function') {
    const picked = selection(sorted, round, random);
    const unknown = picked.filter((id) => !clients.includes(id));
    if (unknown.length) throw new OiafedError('INVALID_CONFIG', `selection picked learners that are not connected: ${unknown.join(', ')}`);
    return [...new Set(picked)];
  }
  const count = Math.max(1, Math.round(selection.fraction * sorted.length));
  return shuffle(sorted, random).slice(0, count).sort();
}
