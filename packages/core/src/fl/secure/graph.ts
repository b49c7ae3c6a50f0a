import type { NodeId } from '../../wire/envelope.js';
import { shuffle } from '../random.js';

/**
 * Who shares secrets with whom in a SecAgg+ round (Bell et al. 2020): a random k-regular graph,
 * built as the Harary graph H(k, n) (each learner linked to the k/2 before and after it on a ring)
 * over a random order of the learners; the full graph (Bonawitz et al. 2017) when k >= n - 1.
 * Each learner masks with and holds shares of its neighbours only, so its work is O(k), not O(n).
 */
export function neighbourGraph(
  clients: readonly NodeId[],
  degree: number,
  random: () => number,
): Map<NodeId, NodeId[]> {
  const n = clients.length;
  const graph = new Map<NodeId, NodeId[]>();
  if (2 * Math.ceil(degree / 2) >= n - 1) {
    for (const id of clients)
      graph.set(
        id,
        clients.filter((other) => other !== id),
      );
    return graph;
  }
  const ring = shuffle([...clients], random);
  // An even degree keeps the ring symmetric: every link is the same one seen from both ends.
  const half = Math.ceil(degree / 2);
  for (let i = 0; i < n; i++) {
    const near: NodeId[] = [];
    for (let d = 1; d <= half; d++) near.push(ring[(i + d) % n]!, ring[(i - d + n) % n]!);
    graph.set(ring[i]!, near);
  }
  return graph;
}

/**
 * The default degree: every other learner up to 100 of them, then 2 ceil(5 log2 n) (100 at
 * n = 1,000, 134 at 10,000), the O(log n) of SecAgg+.
 */
export function defaultDegree(n: number): number {
  if (n <= 101) return n - 1;
  return Math.min(n - 1, 2 * Math.ceil(5 * Math.log2(n)));
}

/** The default threshold: a majority of a learner's neighbours. */
export function defaultThreshold(degree: number): number {
  return Math.floor(degree / 2) + 1;
}
