import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { deriveSeed, seededRandom, shuffle } from './random.js';

/** Which connected learners train in a round. */
export type Selection =
  | 'all'
  | { fraction: number }
  | ((clients: readonly NodeId[], round: number, random: () => number) => NodeId[]);

export interface SelectOptions {
  /** The how-manieth retry of a failed round (0: its first try): a retry draws afresh. */
  retry?: number;
  /** A fraction selects at least this many (the results a round needs), as many as there are at most. */
  atLeast?: number;
  /** Asks ceil(target x overSelection) learners, so the round can close at `target` results. */
  overSelection?: number;
  /** 'evaluate' draws from a stream of its own, so federated evaluation samples apart from training. */
  stream?: 'train' | 'evaluate';
}

/** The learners asked in a round, and how many results close it (fewer than asked with over-selection). */
export interface Selected {
  clients: NodeId[];
  target: number;
}

/** Salt of the evaluation stream: any constant other than a retry count. */
const EVALUATE_STREAM = 0x6576616c;

/**
 * Picks the round's learners. Random fractions draw from a generator seeded by (seed, round), so
 * a run, and a run resumed from a checkpoint, selects the same learners; a retry of a failed round
 * (`retry` > 0) draws afresh, as reproducibly. A function's choice is taken as it is (no minimum,
 * no over-selection).
 */
export function selectClients(
  selection: Selection,
  clients: readonly NodeId[],
  round: number,
  seed: number,
  options: SelectOptions = {},
): Selected {
  const { retry = 0, atLeast = 1, overSelection = 1, stream = 'train' } = options;
  const sorted = [...clients].sort();
  const roundSeed = deriveSeed(seed, round);
  const streamSeed = stream === 'evaluate' ? deriveSeed(roundSeed, EVALUATE_STREAM) : roundSeed;
  const random = seededRandom(retry === 0 ? streamSeed : deriveSeed(streamSeed, retry));
  if (selection === 'all') return { clients: sorted, target: sorted.length };
  if (typeof selection === 'function') {
    const picked = selection(sorted, round, random);
    const unknown = picked.filter((id) => !clients.includes(id));
    if (unknown.length)
      throw new OiafedError(
        'INVALID_CONFIG',
        `selection picked learners that are not connected: ${unknown.join(', ')}`,
      );
    const unique = [...new Set(picked)];
    return { clients: unique, target: unique.length };
  }
  const target = Math.min(
    sorted.length,
    Math.max(1, atLeast, Math.round(selection.fraction * sorted.length)),
  );
  const asked = Math.min(sorted.length, Math.ceil(target * overSelection));
  return { clients: shuffle(sorted, random).slice(0, asked).sort(), target };
}
