// Follows Flower's Krum and MultiKrum: `aggregate_krum` and `_compute_distances` in
// framework/py/flwr/server/strategy/aggregate.py (and `select_multikrum` in serverapp/strategy/multikrum.py):
// score = sum of the squared distances to the n − f − 2 nearest other updates, the `keep` lowest
// scores selected, and their mean weighted by numExamples (Flower's `aggregate`). Distances are summed
// in double precision (Flower squares a float32 norm) and ties go by client id (np.argsort's are unspecified).
import { OiafedError } from '../../wire/errors.js';
import type { Aggregate, Aggregation, ClientUpdate, Rejection } from '../aggregation.js';
import type { Weights } from '../weights.js';
import { KeptUpdates } from './kept-updates.js';
import { squaredDistance } from './squared-distance.js';

export interface KrumOptions {
  /** f: how many of the updates may be Byzantine. A round needs more than 2f + 2 updates. */
  byzantine: number;
  /** m: how many of the lowest-scored updates are averaged. 1 (the default) is Krum, more is multi-Krum. */
  keep?: number;
}

/**
 * Krum and multi-Krum (Blanchard et al. 2017, "Machine Learning with Adversaries: Byzantine Tolerant
 * Gradient Descent"): each update is scored by how close it sits to its n − f − 2 nearest
 * neighbours, so an outlier scores high even when it has accomplices; the `keep` best are averaged
 * and every other update is reported as rejected, with its score.
 */
export class KrumAggregation implements Aggregation {
  readonly keepsUpdates = true;
  readonly byzantine: number;
  readonly keep: number;
  readonly #updates = new KeptUpdates();

  constructor(options: KrumOptions) {
    const { byzantine, keep = 1 } = options;
    if (!Number.isSafeInteger(byzantine) || byzantine < 0)
      throw new OiafedError('INVALID_CONFIG', `Krum: byzantine must be an integer >= 0 (got ${byzantine})`);
    if (!Number.isSafeInteger(keep) || keep < 1)
      throw new OiafedError('INVALID_CONFIG', `Krum: keep must be a positive integer (got ${keep})`);
    this.byzantine = byzantine;
    this.keep = keep;
  }

  add(update: ClientUpdate): void {
    this.#updates.add(update);
  }

  result(): Aggregate {
    const updates = this.#updates.take();
    const n = updates.length;
    const f = this.byzantine;
    const m = this.keep;
    if (n <= 2 * f + 2)
      throw new OiafedError(
        'ROUND_FAILED',
        `Krum needs more than 2f + 2 = ${2 * f + 2} updates with f = ${f} Byzantine; the round has n = ${n}`,
      );
    if (m > n) throw new OiafedError('ROUND_FAILED', `Krum keeps ${m} updates; the round has n = ${n}`);
    const neighbours = n - f - 2;
    const scores = krumScores(
      updates.map((u) => u.weights),
      neighbours,
    );
    // Stable: equal scores go by client id (the order of `updates`), never by arrival.
    const ranked = updates.map((_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
    const selected = new Set(ranked.slice(0, m));
    const highestKept = scores[ranked[m - 1]!]!;
    const rejected: Rejection[] = [];
    updates.forEach(({ client }, i) => {
      if (!selected.has(i))
        rejected.push({
          client,
          reason: `Krum score ${formatScore(scores[i]!)} (squared distances to its ${neighbours} nearest updates) is not among the ${m} lowest (highest kept: ${formatScore(highestKept)})`,
        });
    });
    return { weights: exampleWeightedMean(updates.filter((_, i) => selected.has(i))), rejected };
  }
}

/** Each model's sum of squared distances to its `neighbours` nearest others. */
function krumScores(models: readonly Weights[], neighbours: number): number[] {
  const n = models.length;
  const distances = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++)
      distances[i * n + j] = distances[j * n + i] = squaredDistance(models[i]!, models[j]!);
  }
  const others = new Float64Array(n - 1);
  return models.map((_, i) => {
    for (let j = 0, k = 0; j < n; j++) if (j !== i) others[k++] = distances[i * n + j]!;
    others.sort();
    let score = 0;
    for (let k = 0; k < neighbours; k++) score += others[k]!;
    return score;
  });
}

/**
 * The weighted mean (numExamples, scaled by staleness under FedBuff), in double precision per coordinate: one
 * update comes back bit for bit.
 */
function exampleWeightedMean(updates: readonly ClientUpdate[]): Weights {
  const total = updates.reduce((sum, u) => sum + u.numExamples, 0);
  const out: Weights = {};
  for (const [name, { shape, data: first }] of Object.entries(updates[0]!.weights)) {
    const sources = updates.map((u) => u.weights[name]!.data);
    const data = new Float32Array(first.length);
    for (let j = 0; j < data.length; j++) {
      let sum = 0;
      for (let i = 0; i < sources.length; i++) sum += updates[i]!.numExamples * sources[i]![j]!;
      data[j] = sum / total;
    }
    out[name] = { shape: [...shape], data };
  }
  return out;
}

function formatScore(score: number): string {
  return String(Number(score.toPrecision(6)));
}
