import type { Link } from '../links/link.js';
import { memoryLinkPair } from '../links/memory-link.js';
import { rehoming } from '../connect/rehoming.js';
import { Node } from '../rpc/node.js';
import { Aggregator, type AggregatorOptions } from './aggregator.js';
import { Federation, type FederationOptions, type FederationResult } from './federation.js';
import type { Learner } from './learner.js';
import { FederationMember } from './member.js';

/** A connect function that links to `hub` in this process (what a WebSocket URL is over a network). */
export function memoryConnect(hub: Node): () => Promise<Link> {
  return () => {
    const [hubSide, leafSide] = memoryLinkPair({ strict: true });
    hub.accept(hubSide);
    return Promise.resolve(leafSide);
  };
}

/** Fast reconnection for tests: the re-homing they wait on happens within tens of ms. */
export const QUICK_RETRY = { initialDelay: 5, maxDelay: 40, jitter: 0 } as const;

export interface MemoryHierarchy {
  root: Node;
  aggregatorNodes: Node[];
  aggregators: Aggregator[];
  /** Leaf i joined aggregator i % aggregators first, with every aggregator in its re-homing list. */
  leaves: FederationMember[];
  close(): void;
}

/**
 * A root node, `aggregators` aggregators joined to it in memory, and one leaf per learner (ids
 * learner-0...), leaf i homed at aggregator i % aggregators with the others as its alternatives.
 * The root's federation is the caller's (made on `root`, not started).
 */
export async function memoryHierarchy(
  learners: readonly Learner[],
  aggregators: number,
  aggregatorOptions: Partial<Omit<FederationOptions, 'node'>> = {},
  serveOptions: Pick<AggregatorOptions, 'parentMaxExamples'> = {},
): Promise<MemoryHierarchy> {
  const root = new Node({ id: 'root', role: 'trainer', heartbeat: false });
  const aggregatorNodes = Array.from(
    { length: aggregators },
    (_, i) => new Node({ id: `aggregator-${i}`, role: 'aggregator', heartbeat: false }),
  );
  const serving = await Promise.all(
    aggregatorNodes.map((node) =>
      Aggregator.serve({
        node,
        federation: new Federation({ node, rounds: 1, ...aggregatorOptions }),
        connect: memoryConnect(root),
        heartbeat: false,
        retry: QUICK_RETRY,
        ...serveOptions,
      }),
    ),
  );
  const homes = aggregatorNodes.map(memoryConnect);
  const leaves = await Promise.all(
    learners.map((learner, i) =>
      FederationMember.join({
        learner,
        id: `learner-${i}`,
        connect: rehoming(homes, i % aggregators),
        heartbeat: false,
        retry: QUICK_RETRY,
      }),
    ),
  );
  return {
    root,
    aggregatorNodes,
    aggregators: serving,
    leaves,
    close() {
      for (const leaf of leaves) leaf.close();
      for (const aggregator of serving) aggregator.close();
      for (const node of aggregatorNodes) node.close();
      root.close();
    },
  };
}

/** The same learners as leaves of one trainer: what the hierarchy must equal. */
export async function memoryFlat(learners: readonly Learner[]): Promise<{ root: Node; close(): void }> {
  const root = new Node({ id: 'root', role: 'trainer', heartbeat: false });
  const leaves = await Promise.all(
    learners.map((learner, i) =>
      FederationMember.join({ learner, id: `learner-${i}`, connect: memoryConnect(root), heartbeat: false }),
    ),
  );
  return {
    root,
    close() {
      for (const leaf of leaves) leaf.close();
      root.close();
    },
  };
}

/** FedAvg over the same learners under one trainer, `rounds` rounds at lr 0.05: what a hierarchy must equal. */
export async function flatFedAvgRun(learners: readonly Learner[], rounds: number): Promise<FederationResult> {
  const flat = await memoryFlat(learners);
  try {
    return await new Federation({
      node: flat.root,
      rounds,
      minClients: learners.length,
      config: { lr: 0.05 },
    }).start();
  } finally {
    flat.close();
  }
}
