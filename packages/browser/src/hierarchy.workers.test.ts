import { Aggregator, Federation, Node } from '@oiafed/core';
import { eventTargetEndpoint, PortLink } from '@oiafed/core/internal';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryConnect, QUICK_RETRY } from '../../core/src/fl/hierarchy.test-support.js';
import { zeroLinearWeights } from '../../core/src/fl/linear-learner.test-support.js';
import { maxAbsDiff } from '../../core/src/fl/weights.js';
import { withTimeout } from '../../core/src/test-support.js';
import { spawnLearners } from './spawn-learners.js';

const linearWorker = () =>
  new Worker(new URL('./fixtures/linear-learner.worker.ts', import.meta.url), { type: 'module' });
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const node = (id: string, role: string) => {
  const n = new Node({ id, role, heartbeat: false });
  cleanup.push(() => n.close());
  return n;
};

/** A root and 2 aggregators joined to it in this tab, each waiting for 2 learners. */
async function tree(): Promise<{ root: Node; aggregatorNodes: Node[] }> {
  const root = node('root', 'trainer');
  const aggregatorNodes = [node('aggregator-0', 'aggregator'), node('aggregator-1', 'aggregator')];
  for (const own of aggregatorNodes) {
    const aggregator = await Aggregator.serve({
      node: own,
      federation: new Federation({ node: own, rounds: 1, minClients: 2 }),
      connect: memoryConnect(root),
      heartbeat: false,
      retry: QUICK_RETRY,
    });
    cleanup.push(() => aggregator.close());
  }
  return { root, aggregatorNodes };
}

async function workers(trainer: Node, first: number, count: number) {
  const pool = await spawnLearners({
    trainer,
    count,
    firstIndex: first,
    workers: 1,
    createWorker: linearWorker,
  });
  cleanup.push(() => pool.terminate());
  return pool;
}

const run = (root: Node, minClients: number) =>
  new Federation({
    node: root,
    rounds: 2,
    minClients,
    config: { lr: 0.05 },
    initialWeights: zeroLinearWeights(),
  }).start();

describe('leaves in Web Workers under an aggregator', () => {
  it("4 learners in Web Workers under 2 aggregators: FedAvg ends at the flat run's weights (the same learners in workers) within 1e-5", async () => {
    const flatRoot = node('flat-root', 'trainer');
    await workers(flatRoot, 0, 4);
    const flat = await run(flatRoot, 4);
    const { root, aggregatorNodes } = await tree();
    const pools = await Promise.all(aggregatorNodes.map((a, k) => workers(a, 2 * k, 2)));
    expect(pools.map((p) => p.ids)).toEqual([
      ['learner-0', 'learner-1'],
      ['learner-2', 'learner-3'],
    ]);
    const hier = await run(root, 2);
    expect(hier.history.map((r) => r.results)).toEqual([2, 2]);
    expect(maxAbsDiff(hier.weights, flat.weights)).toBeLessThanOrEqual(1e-5);
  }, 30_000);

  it("a hostile leaf in a Web Worker reaches neither its aggregator's learner side, nor the root, nor a sibling, under it or under the other aggregator", async () => {
    const { root, aggregatorNodes } = await tree();
    await workers(aggregatorNodes[0]!, 0, 1);
    await workers(aggregatorNodes[1]!, 1, 1);
    const worker = new Worker(new URL('./fixtures/hostile-leaf.worker.ts', import.meta.url), {
      type: 'module',
    });
    cleanup.push(() => worker.terminate());
    const { port1, port2 } = new MessageChannel();
    aggregatorNodes[0]!.accept(new PortLink(eventTargetEndpoint(port1)));
    const codes = new Promise<string[]>((resolve, reject) => {
      worker.addEventListener('message', (e: MessageEvent<string[]>) => resolve(e.data), { once: true });
      worker.addEventListener('error', (e) => reject(new Error(e.message)), { once: true });
    });
    const calls = ['aggregator-0', 'root', 'learner-0', 'learner-1', 'aggregator-1'].map((target) => ({
      target,
      method: 'train',
    }));
    worker.postMessage({ id: 'hostile', port: port2, calls }, [port2]);
    expect(await withTimeout(codes, 20_000, 'the hostile leaf did not report')).toEqual([
      'METHOD_NOT_FOUND',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
      'UNKNOWN_TARGET',
    ]);
    expect(aggregatorNodes[0]!.registry.get('hostile')).toBeDefined();
    expect(root.registry.connected('learner').sort()).toEqual(['aggregator-0', 'aggregator-1']);
  }, 30_000);
});
