import { OiafedError } from '../wire/errors.js';
import type { Link } from '../links/link.js';

/**
 * A `connect` for an uplink that has more than one place to join: each call (the first attempt,
 * each retry, each reconnection after a lost link) connects to the next of `connects`, starting at
 * `first`. A learner given its aggregator and that aggregator's siblings thus re-homes: when its
 * aggregator goes, its next attempt is the sibling after it in the list, not the dead one again.
 */
export function rehoming(connects: readonly (() => Promise<Link>)[], first = 0): () => Promise<Link> {
  if (connects.length === 0)
    throw new OiafedError('INVALID_CONFIG', 'rehoming needs at least one place to connect');
  if (!Number.isSafeInteger(first) || first < 0)
    throw new OiafedError('INVALID_CONFIG', `rehoming: first must be an integer >= 0 (got ${first})`);
  const list = [...connects];
  let next = first % list.length;
  return () => {
    const connect = list[next]!;
    next = (next + 1) % list.length;
    return connect();
  };
}
