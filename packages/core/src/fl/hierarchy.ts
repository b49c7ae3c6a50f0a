import { DifferentialPrivacy } from './privacy/differential-privacy.js';
import { Strategy } from './strategy.js';

/**
 * Why `strategy` cannot run at an aggregator, or undefined when it can. Two levels give the flat
 * result only when a round's aggregate is a weighted sum whose parts can be summed first and
 * weighed by their example counts: the example-weighted mean of FedAvg and FedProx (and a user's
 * strategy that keeps Strategy's `aggregation` and `update`). A robust aggregate is not such a sum
 * (the median of medians is not the median; Krum and trimmed means need every update), a server
 * optimiser steps once per round and belongs at the root, and differential privacy clips and
 * noises once, at the level that adds every learner's update.
 */
export function hierarchyProblem(strategy: Strategy): string | undefined {
  const at = `strategy ${strategy.name} cannot run at an aggregator`;
  if (strategy instanceof DifferentialPrivacy)
    return `${at}: differential privacy clips and noises once, at the root (run the aggregators with fedavg)`;
  if (strategy.aggregation !== Strategy.prototype.aggregation)
    return `${at}: its aggregate is not a weighted sum that composes over levels (robust aggregators need every update; the median of medians is not the median); aggregators run fedavg or fedprox, the root may run it over their partial means`;
  if (strategy.update !== Strategy.prototype.update)
    return `${at}: a server optimiser steps once per round, at the root (run the aggregators with fedavg)`;
  return undefined;
}
