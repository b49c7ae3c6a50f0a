import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { OiafedError, RemoteError } from '../wire/errors.js';
import { Aggregator } from './aggregator.js';
import { Federation } from './federation.js';
import { fixed, ScriptedLearner } from './federation.test-support.js';
import { memoryConnect, memoryHierarchy, QUICK_RETRY } from './hierarchy.test-support.js';
import type { Learner } from './learner.js';
import { serveLearner } from './serve-learner.js';
import { FedAvgM } from './strategies/server-optimized.js';
import { createStrategy } from './strategies/by-name.js';
import { tensor } from './weights.js';

let open: { close(): void }[] = [];
afterEach(() => {
  for (const o of open) o.close();
  open = [];
});

/** A learner whose train records that it ran: a call that must never reach it would show here. */
function watched(n: number): { learner: Learner; trained: number[] } {
  const trained: number[] = [];
  const base = fixed([n, n], n, n);
  return {
    trained,
    learner: new ScriptedLearner(base, {
      train: (p) => {
        trained.push(p.round);
        return base.train();
      },
    }),
  };
}

const model = { w: tensor([0, 0], [2]), b: tensor([0], [1]) };

/** The code a rejection carries: the remote handler's own, for an error thrown over there. */
const codeOf = (error: OiafedError) => (error instanceof RemoteError ? error.remoteCode : error.code);

async function rejection(call: Promise<unknown>): Promise<OiafedError> {
  const error: unknown = await call.then(
    () => new Error('the call was answered'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(OiafedError);
  return error as OiafedError;
}

describe('hierarchical federation: hostile input', () => {
  it("a leaf reaches neither its aggregator's learner side, nor the root, nor any other leaf, under it or under a sibling", async () => {
    const leaves = [watched(1), watched(2), watched(3), watched(4)];
    const tree = await memoryHierarchy(
      leaves.map((l) => l.learner),
      2,
      { minClients: 1 },
    );
    open.push(tree);
    const hostile = tree.leaves[0]!.node; // learner-0, at aggregator-0 (learner-2 beside it, 1 and 3 at aggregator-1)
    const args = [{ round: 1, weights: model, config: {} }];
    // Its aggregator's node serves its learners nothing: no train to start a round with.
    expect((await rejection(hostile.call('aggregator-0', 'train', args))).code).toBe('METHOD_NOT_FOUND');
    for (const target of ['root', 'learner-2', 'learner-1', 'aggregator-1'])
      expect((await rejection(hostile.call(target, 'train', args))).code).toBe('UNKNOWN_TARGET');
    expect(leaves.every((l) => l.trained.length === 0)).toBe(true);
  });

  it('an aggregator reports what its accepted learners add up to: a leaf claiming more examples than allowed is refused, the others counted', async () => {
    const liar = new ScriptedLearner(fixed([9, 9], 9, 1), {
      train: () => ({ weights: { w: tensor([9, 9], [2]), b: tensor([9], [1]) }, numExamples: 1e7 }),
    });
    const tree = await memoryHierarchy([fixed([1, 1], 1, 10), liar, fixed([3, 3], 3, 30)], 1, {
      minClients: 3,
      minResults: 2,
      maxExamples: 1_000,
    });
    open.push(tree);
    const failed: string[] = [];
    tree.aggregators[0]!.federation.events.on('CLIENT_FAILED', (f) => failed.push(`${f.client} ${f.code}`));
    const root = new Federation({ node: tree.root, rounds: 1, minClients: 1, initialWeights: model });
    const result = await root.start();
    expect(failed).toEqual(['learner-1 INVALID_RESULT']);
    expect(result.history[0]!.numExamples).toBe(40);
    // (10 * 1 + 30 * 3) / 40 = 2.5: the liar's 9 is nowhere in it.
    expect(Array.from(result.weights.w!.data)).toEqual([2.5, 2.5]);
  });

  it('the root caps what a child claims: an aggregator claiming more examples than security.maxExamples is refused, the round goes on with the rest', async () => {
    const root = new Node({ id: 'root', role: 'trainer', heartbeat: false });
    open.push(root);
    const children: [string, Learner][] = [
      ['aggregator-0', fixed([1, 1], 1, 500)],
      ['aggregator-1', fixed([100, 100], 100, 1_000_000)],
    ];
    for (const [id, learner] of children) {
      const node = new Node({ id, role: 'learner', heartbeat: false });
      open.push(node);
      serveLearner(node, learner);
      await joinInMemory(root, node, { strict: true });
    }
    const federation = new Federation({
      node: root,
      rounds: 1,
      minClients: 2,
      minResults: 1,
      maxExamples: 10_000,
      initialWeights: model,
    });
    const failed: string[] = [];
    federation.events.on('CLIENT_FAILED', (f) => failed.push(`${f.client} ${f.code}`));
    const result = await federation.start();
    expect(failed).toEqual(['aggregator-1 INVALID_RESULT']);
    expect(result.history[0]!.numExamples).toBe(500);
    expect(Array.from(result.weights.w!.data)).toEqual([1, 1]);
  });

  it("one leaf's claim, within the aggregator's cap, does not get its whole subtree refused at the root: the total reported is capped at parentMaxExamples", async () => {
    // Each claim is within the cap of 1,000 the aggregator and the root share; their sum is not.
    const liar = new ScriptedLearner(fixed([9, 9], 9, 1), {
      train: () => ({ weights: { w: tensor([9, 9], [2]), b: tensor([9], [1]) }, numExamples: 1_000 }),
    });
    const tree = await memoryHierarchy(
      [fixed([1, 1], 1, 10), liar],
      1,
      { minClients: 2, maxExamples: 1_000 },
      { parentMaxExamples: 1_000 },
    );
    open.push(tree);
    const root = new Federation({
      node: tree.root,
      rounds: 1,
      minClients: 1,
      maxExamples: 1_000,
      initialWeights: model,
    });
    const failed: string[] = [];
    root.events.on('CLIENT_FAILED', (f) => failed.push(`${f.client} ${f.code}`));
    const result = await root.start();
    expect(failed).toEqual([]);
    expect(result.history[0]!.numExamples).toBe(1_000);
    // The honest leaf's model is in the root's: (10 * 1 + 1000 * 9) / 1010.
    expect(result.weights.w!.data[0]).toBeCloseTo((10 + 9_000) / 1_010, 5);
  });

  it("a parent's malformed request is refused with BAD_FRAME, and the aggregator keeps serving the next good one", async () => {
    const tree = await memoryHierarchy([fixed([2, 2], 2, 5)], 1, { minClients: 1 });
    open.push(tree);
    const call = (params: unknown) => tree.root.call('aggregator-0', 'train', [params]);
    const bad: unknown[] = [
      'not params',
      { round: -1, weights: model, config: {} },
      { round: 1.5, weights: model, config: {} },
      { round: 1, weights: { w: 'nope' }, config: {} },
      { round: 1, weights: model, config: [1, 2] },
    ];
    for (const params of bad) expect(codeOf(await rejection(call(params)))).toBe('BAD_FRAME');
    expect(codeOf(await rejection(tree.root.call('aggregator-0', 'setWeights', [{}])))).toBe('BAD_FRAME');
    const good = (await call({ round: 1, weights: model, config: {} })) as { numExamples: number };
    expect(good.numExamples).toBe(5);
  });

  it('one round at a time: a second train request while one runs is refused with OVERLOADED', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = new ScriptedLearner(fixed([1, 1], 1, 5), {
      train: async () => {
        await gate;
        return fixed([1, 1], 1, 5).train();
      },
    });
    const tree = await memoryHierarchy([slow], 1, { minClients: 1 });
    open.push(tree);
    const params = { round: 1, weights: model, config: {} };
    const first = tree.root.call('aggregator-0', 'train', [params]);
    await new Promise<void>((resolve) =>
      tree.aggregators[0]!.federation.events.once('ROUND_STARTED', () => resolve()),
    );
    expect(codeOf(await rejection(tree.root.call('aggregator-0', 'train', [params])))).toBe('OVERLOADED');
    release();
    expect(((await first) as { numExamples: number }).numExamples).toBe(5);
  });

  it('refuses, with INVALID_CONFIG naming why, strategies that do not compose over levels', async () => {
    const root = new Node({ id: 'root', role: 'trainer', heartbeat: false });
    open.push(root);
    const cases = [
      [createStrategy('fedmedian', {}), /not a weighted sum/],
      [createStrategy('krum', { byzantine: 1 }), /not a weighted sum/],
      [new FedAvgM({ serverLearningRate: 1, momentum: 0.9 }), /server optimiser/],
    ] as const;
    for (const [strategy, why] of cases) {
      const node = new Node({ id: 'aggregator-0', role: 'aggregator', heartbeat: false });
      open.push(node);
      const serving = Aggregator.serve({
        node,
        federation: new Federation({ node, rounds: 1, strategy }),
        connect: memoryConnect(root),
        heartbeat: false,
        retry: QUICK_RETRY,
      });
      const error = await rejection(serving);
      expect(error.code).toBe('INVALID_CONFIG');
      expect(error.message).toMatch(why);
    }
    // Nothing joined the root.
    expect(root.registry.connected('learner')).toEqual([]);
  });
});
