import { Worker } from 'node:worker_threads';
import { MessageChannel } from 'node:worker_threads';
import { Aggregator, Federation, Node } from '@oiafed/core';
import { PortLink } from '@oiafed/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryConnect, QUICK_RETRY } from '../../core/src/fl/hierarchy.test-support.js';
import { zeroLinearWeights } from '../../core/src/fl/linear-learner.test-support.js';
import { maxAbsDiff } from '../../core/src/fl/weights.js';
import { withTimeout } from '../../core/src/test-support.js';
import { nodePortEndpoint } from './node-port.js';
import { spawnLearners } from './spawn-learners.js';

const fixture = new URL('./fixtures/linear-learner.fixture.ts', import.meta.url);
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const LEARNERS = 6;
const AGGREGATORS = 2;
const PER_AGGREGATOR = LEARNERS / AGGREGATORS;

const node = (id: string, role: string) => {
  const n = new Node({ id, role, heartbeat: false });
  cleanup.push(() => n.close());
  return n;
};

/** A root and AGGREGATORS aggregators joined to it in this process, the learners of each to be added. */
async function tree(): Promise<{ root: Node; aggregators: { node: Node; aggregator: Aggregator }[] }> {
  const root = node('root', 'trainer');
  const aggregators = await Promise.all(
    Array.from({ length: AGGREGATORS }, async (_, k) => {
      const own = node(`aggregator-${k}`, 'aggregator');
      const aggregator = await Aggregator.serve({
        node: own,
        federation: new Federation({ node: own, rounds: 1, minClients: PER_AGGREGATOR }),
        connect: memoryConnect(root),
        heartbeat: false,
        retry: QUICK_RETRY,
      });
      cleanup.push(() => aggregator.close());
      return { node: own, aggregator };
    }),
  );
  return { root, aggregators };
}

/** Learners first..first+count-1 of the linear fixture in one worker thread, joined to `trainer`. */
async function workerLearners(trainer: Node, first: number, count: number) {
  const pool = await spawnLearners({ trainer, module: fixture, count, firstIndex: first, workers: 1 });
  cleanup.push(() => pool.terminate());
  return pool;
}

const run = (root: Node, minClients: number) =>
  new Federation({
    node: root,
    rounds: 3,
    minClients,
    config: { lr: 0.05 },
    initialWeights: zeroLinearWeights(),
  }).start();

describe('leaves in worker_threads under an aggregator', () => {
  it("6 learners in worker threads under 2 aggregators: FedAvg ends at the flat run's weights (the same learners in workers) within 1e-5", async () => {
    const flatRoot = node('flat-root', 'trainer');
    await workerLearners(flatRoot, 0, LEARNERS);
    const flat = await run(flatRoot, LEARNERS);

    const { root, aggregators } = await tree();
    const pools = await Promise.all(
      aggregators.map((a, k) => workerLearners(a.node, k * PER_AGGREGATOR, PER_AGGREGATOR)),
    );
    // The ids and shares are those of the flat run: learner-0..2 at aggregator-0, learner-3..5 at aggregator-1.
    expect(pools.map((p) => p.ids)).toEqual([
      ['learner-0', 'learner-1', 'learner-2'],
      ['learner-3', 'learner-4', 'learner-5'],
    ]);
    expect(aggregators[1]!.node.registry.connected('learner').sort()).toEqual(pools[1]!.ids);
    const hier = await run(root, AGGREGATORS);
    expect(hier.history.map((r) => r.results)).toEqual([2, 2, 2]);
    expect(hier.history.map((r) => r.numExamples)).toEqual(flat.history.map((r) => r.numExamples));
    expect(maxAbsDiff(hier.weights, flat.weights)).toBeLessThanOrEqual(1e-5);
  }, 60_000);

  it("a hostile leaf in a worker thread reaches neither its aggregator's learner side, nor the root, nor a sibling, under it or under the other aggregator", async () => {
    const { root, aggregators } = await tree();
    for (const [k, a] of aggregators.entries()) await workerLearners(a.node, 10 * k, 2);
    // The leaf joins aggregator-0 over a MessagePort, as a spawned learner does, from a thread of its own.
    const worker = new Worker(new URL('./ts-worker-entry.mjs', import.meta.url), {
      workerData: { entry: new URL('./fixtures/hostile-leaf.fixture.ts', import.meta.url).href },
      execArgv: [...process.execArgv, '--conditions=source'],
    });
    cleanup.push(() => worker.terminate());
    const { port1, port2 } = new MessageChannel();
    aggregators[0]!.node.accept(new PortLink(nodePortEndpoint(port1)));
    const calls = [
      { target: 'aggregator-0', method: 'train' },
      { target: 'root', method: 'train' },
      { target: 'learner-1', method: 'train' },
      { target: 'learner-10', method: 'train' },
      { target: 'aggregator-1', method: 'train' },
    ];
    const codes = new Promise<string[]>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    worker.postMessage({ id: 'hostile', port: port2, calls }, [port2]);
    expect(await withTimeout(codes, 30_000, 'the hostile leaf did not report')).toEqual([
      'METHOD_NOT_FOUND',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
    ]);
    // It did join (the refusals are the router's, not a missing link), and nothing reached the root.
    expect(aggregators[0]!.node.registry.get('hostile')).toBeDefined();
    expect(root.registry.connected('learner').sort()).toEqual(['aggregator-0', 'aggregator-1']);
  }, 60_000);
});
