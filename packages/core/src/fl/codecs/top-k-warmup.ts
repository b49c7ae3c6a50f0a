/**
 * Sparsity warm-up (Lin et al. 2018, "Deep Gradient Compression", section 3.3): top-k starts
 * dense and grows exponentially sparser to its steady fraction over the first rounds. DGC goes
 * from 75% to 99.9% sparsity over four epochs (density 25%, 6.25%, 1.56%, 0.39%, then 0.1%),
 * because early updates change fast and error feedback delivers what it holds back too late for
 * them. In federated learning a round is one step of the schedule; with only a few rounds, a
 * model that learns little in round 1 starts every later round behind (the MNIST demo, seed 1:
 * test accuracy 0.355 after round 1 at 1% from the start, 0.748 warming up from 10%, 0.797 in float32).
 */

/** The warm-up of top-k's fraction: from `from` at round 1 to the steady fraction at round `rounds + 1`. */
export interface TopKWarmup {
  /** Rounds over which the fraction falls to the steady one; 0: the steady fraction from round 1. */
  rounds: number;
  /** The fraction of round 1, in (0, 1]; a value at or below the steady fraction means no warm-up. */
  from: number;
}

/**
 * Top-k's fraction in `round` (1-based): `from * (fraction / from) ** ((round - 1) / rounds)` over
 * the warm-up, the steady `fraction` after it. Equal factors between rounds, as DGC's schedule has
 * (x 1/4 per epoch from 25% to 0.1% over four), so each round sends the same share less.
 */
export function topKFractionAt(round: number, fraction: number, warmup: TopKWarmup): number {
  const { rounds, from } = warmup;
  if (rounds <= 0 || from <= fraction || !(round >= 1) || round > rounds) return fraction;
  return Math.min(1, from * (fraction / from) ** ((round - 1) / rounds));
}
