import type { Aggregation, ClientUpdate } from '../aggregation.js';
import type { NodeId } from '../../wire/envelope.js';
import type { TrainResult } from '../learner.js';
import { decodeUpdate } from './encoded-weights.js';

/**
 * A validated train result as `aggregation` takes it: a compressed update as it is for an
 * aggregation that decodes straight into its sum (the weighted mean: no float32 copy per learner),
 * decoded to float32 for one that looks at each update (median, Krum, the DP clipped sum).
 */
export function clientUpdate(
  aggregation: Pick<Aggregation, 'acceptsCompressed'>,
  client: NodeId,
  result: TrainResult,
  staleness: number,
): ClientUpdate {
  const { numExamples } = result;
  const metrics = result.metrics ?? {};
  const compressed = result.compressed;
  if (!compressed) return { client, weights: result.weights, numExamples, metrics, staleness };
  if (aggregation.acceptsCompressed)
    return { client, weights: compressed.base, numExamples, metrics, staleness, compressed };
  return { client, weights: decodeUpdate(compressed), numExamples, metrics, staleness };
}
