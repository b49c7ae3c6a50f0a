import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent } from '../test-support.js';
import { Federation } from './federation.js';
import { memoryFlat, memoryHierarchy, type MemoryHierarchy } from './hierarchy.test-support.js';
import type { Learner, TrainParams, TrainResult } from './learner.js';
import { LinearLearner, linearData, zeroLinearWeights } from './linear-learner.test-support.js';
import { FedProx } from './strategies/fedavg.js';
import { maxAbsDiff } from './weights.js';

/** 40 learners with 20 to 59 examples each, so the example weighting matters. */
const learners = () => Array.from({ length: 40 }, (_, i) => new LinearLearner(linearData(i + 1, 20 + i)));
const RUN = { rounds: 3, config: { lr: 0.05 }, initialWeights: zeroLinearWeights() } as const;

let open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open) o.close();
  open = [];
});

describe('hierarchical federation in memory', () => {
  it("1 root, 4 aggregators, 40 learners: FedAvg reaches the flat run's weights within 1e-5, with the flat example count", async () => {
    const flat = await memoryFlat(learners());
    open.push(flat);
    const flatRun = await new Federation({ node: flat.root, minClients: 40, ...RUN }).start();

    const tree = await memoryHierarchy(learners(), 4, { minClients: 10 });
    open.push(tree);
    const root = new Federation({ node: tree.root, minClients: 4, ...RUN });
    const treeRun = await root.start();

    expect(treeRun.rounds).toBe(3);
    expect(maxAbsDiff(treeRun.weights, flatRun.weights)).toBeLessThanOrEqual(1e-5);
    // The root sees 4 learners (the aggregators), whose counts add up to every learner's.
    const last = treeRun.history[2]!;
    expect(last.clients).toHaveLength(4);
    expect(last.numExamples).toBe(flatRun.history[2]!.numExamples);
    expect(last.numExamples).toBe(Array.from({ length: 40 }, (_, i) => 20 + i).reduce((a, b) => a + b));
    expect(last.trainMetrics.loss).toBeCloseTo(flatRun.history[2]!.trainMetrics.loss!, 5);
    // The model moved: equal weights are not two untouched starting models.
    expect(maxAbsDiff(treeRun.weights, zeroLinearWeights())).toBeGreaterThan(0.1);
  });

  it('FedProx at the root with FedAvg aggregators relays mu to every learner and matches flat FedProx', async () => {
    const flatLearners = learners();
    const flat = await memoryFlat(flatLearners);
    open.push(flat);
    const strategy = () => new FedProx({ mu: 0.5 });
    const flatRun = await new Federation({
      node: flat.root,
      minClients: 40,
      strategy: strategy(),
      ...RUN,
    }).start();
    const treeLearners = learners();
    const tree = await memoryHierarchy(treeLearners, 4, { minClients: 10 });
    open.push(tree);
    const treeRun = await new Federation({
      node: tree.root,
      minClients: 4,
      strategy: strategy(),
      ...RUN,
    }).start();
    expect(maxAbsDiff(treeRun.weights, flatRun.weights)).toBeLessThanOrEqual(1e-5);
    expect(treeLearners.every((l) => l.seen.every((p) => p.config.mu === 0.5 && p.config.lr === 0.05))).toBe(
      true,
    );
  });

  it('federated evaluation through aggregators gives the flat example-weighted metrics', async () => {
    const flat = await memoryFlat(learners());
    open.push(flat);
    const options = { ...RUN, rounds: 1, federatedEvaluation: true } as const;
    const flatRun = await new Federation({ node: flat.root, minClients: 40, ...options }).start();
    const tree = await memoryHierarchy(learners(), 4, { minClients: 10 });
    open.push(tree);
    const treeRun = await new Federation({ node: tree.root, minClients: 4, ...options }).start();
    const loss = treeRun.history[0]!.evalMetrics.federated_loss!;
    expect(loss).toBeGreaterThan(0);
    expect(loss).toBeCloseTo(flatRun.history[0]!.evalMetrics.federated_loss!, 5);
  });

  it("relays the parent's deadline: a leaf that never answers is dropped before it, and the parent gets the rest's aggregate in time", async () => {
    const all: Learner[] = learners().slice(0, 4);
    const honest = all[1]!;
    all[1] = {
      train: () => new Promise<TrainResult>(() => undefined), // alive, never answers
      evaluate: (p) => honest.evaluate(p),
      getWeights: () => honest.getWeights(),
      setWeights: (w) => honest.setWeights(w),
    };
    const tree = await memoryHierarchy(all, 1, { minClients: 4, minResults: 1 });
    open.push(tree);
    const failed: string[] = [];
    tree.aggregators[0]!.federation.events.on('CLIENT_FAILED', (f) => failed.push(`${f.client} ${f.code}`));
    const root = new Federation({ node: tree.root, minClients: 1, deadline: 2_000, ...RUN, rounds: 1 });
    const result = await root.start();
    // The aggregator closed its round a tenth of the parent's time early: its answer made it.
    expect(result.history[0]!.results).toBe(1);
    expect(result.history[0]!.failures).toEqual([]);
    expect(failed).toEqual(['learner-1 TIMEOUT']);
    expect(result.history[0]!.numExamples).toBe(20 + 22 + 23);
  });

  it('a leaf and an aggregator gone mid-round: the round completes with the rest, and the orphans re-home and train in the next round', async () => {
    // learner-5 (at aggregator-1) hangs in round 2, and aggregator-2 is closed while its round runs.
    let hung!: () => void;
    const hanging = new Promise<void>((resolve) => (hung = resolve));
    const all: Learner[] = learners();
    const honest = all[5]!;
    all[5] = {
      train: (params: TrainParams) => {
        if (params.round !== 2) return honest.train(params);
        hung();
        return new Promise<TrainResult>(() => undefined);
      },
      evaluate: (p) => honest.evaluate(p),
      getWeights: () => honest.getWeights(),
      setWeights: (w) => honest.setWeights(w),
    };
    const tree: MemoryHierarchy = await memoryHierarchy(all, 4, { minClients: 1 });
    open.push(tree);
    const root = new Federation({ node: tree.root, minClients: 3, minResults: 2, ...RUN });
    await root.waitForClients(4);
    const seen: number[][] = [];
    tree.aggregators.forEach((a, i) =>
      a.federation.events.on('ROUND_FINISHED', (s) => ((seen[s.round] ??= [])[i] = s.results)),
    );
    root.events.on('ROUND_STARTED', ({ round }) => {
      if (round !== 2) return;
      void hanging.then(() => {
        tree.leaves[5]!.close(); // the hanging leaf leaves: its aggregator stops waiting for it
        tree.aggregators[2]!.close(); // and aggregator-2 goes, with its leaves' links
        tree.aggregatorNodes[2]!.close();
      });
      root.pause(); // round 3 waits until the orphans have re-homed
    });
    const rehomed = new Promise<void>((resolve) => {
      let joined = 0;
      tree.aggregatorNodes[3]!.events.on('CLIENT_REGISTERED', () => ++joined === 10 && resolve());
    });
    const running = root.start();
    const [round2] = await nextEvent(root.events, 'ROUND_FINISHED', 10_000).then(() =>
      nextEvent(root.events, 'ROUND_FINISHED', 10_000),
    );
    expect(round2.round).toBe(2);
    expect(round2.results).toBe(3);
    expect(round2.failures.map((f) => f.client)).toEqual(['aggregator-2']);
    expect(seen[2]![1]).toBe(9); // aggregator-1's round 2: its 10 learners but the one that left
    await rehomed;
    root.resume();
    const result = await running;
    expect(result.rounds).toBe(3);
    // Aggregator-2's 10 learners trained in round 3 at aggregator-3, beside its own 10.
    expect(seen[3]![3]).toBe(20);
    expect(result.history[2]!.results).toBe(3);
    const orphans = [2, 6, 10, 14, 18, 22, 26, 30, 34, 38];
    for (const i of orphans)
      expect(tree.aggregatorNodes[3]!.registry.get(`learner-${i}`)?.state).toBe('connected');
  });
});
