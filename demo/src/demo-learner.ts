import { deriveSeed, seededRandom, shuffle } from '@oiafed/core';
import type { Dataset } from './mnist.js';
import { MnistLearner } from './mnist-learner.js';
import type { ModelPool } from './model-pool.js';

/** How much slower a slow learner (`--slow`) is than the others. */
export const SLOWDOWN = 10;

/**
 * Which learners `--slow share` makes slow: round(share x clients) of them, drawn from the seed
 * (its own stream, apart from the data split's and the selection's), so the trainer, the tests and
 * every worker thread agree on them without being told.
 */
export function slowLearners(clients: number, share: number, seed: number): Set<number> {
  const count = Math.round(share * clients);
  if (count === 0) return new Set();
  const order = shuffle(
    Array.from({ length: clients }, (_, i) => i),
    seededRandom(deriveSeed(seed, 0x510)),
  );
  return new Set(order.slice(0, count));
}

/**
 * The demo's learner `index` (of `clients`) on its share of the digits, seeded from the run's seed,
 * SLOWDOWN times slower if `--slow` chose it. The same wherever it runs (this process, a worker).
 */
export function demoLearner(
  shard: Dataset,
  index: number,
  options: { clients: number; seed: number; slow: number },
  models?: ModelPool,
): MnistLearner {
  const slowdown = slowLearners(options.clients, options.slow, options.seed).has(index) ? SLOWDOWN : 1;
  return new MnistLearner(shard, options.seed * 100 + index, { slowdown, ...(models ? { models } : {}) });
}
