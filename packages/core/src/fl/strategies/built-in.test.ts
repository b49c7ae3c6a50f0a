import { afterEach, describe, expect, it } from 'vitest';
import { MemoryCheckpointStore } from '../checkpoint.js';
import { federationMaker, fixed } from '../federation.test-support.js';
import { zeroLinearWeights } from '../linear-learner.test-support.js';
import type { Strategy } from '../strategy.js';
import { createStrategy, STRATEGY_NAMES, type StrategyName } from './by-name.js';
import { FedAdam } from './server-optimized.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

/** Learners whose updates differ, so every strategy has something to do. */
const learners = () => [
  fixed([1, 2, 3], 1, 10),
  fixed([3, 2, 1], -1, 30),
  fixed([2, 2, 2], 0, 20),
  fixed([0, 4, 1], 2, 40),
  fixed([1, 1, 1], 1, 10),
];

const OPTIONS: Partial<Record<StrategyName, Record<string, unknown>>> = {
  krum: { byzantine: 1, keep: 2 },
  centeredclipping: { tau: 1 },
  fedtrimmedavg: { beta: 0.2 },
};

describe('the built-in strategies', () => {
  it.each(STRATEGY_NAMES)(
    '%s runs two rounds of a federation by its config name and keeps finite weights',
    async (name) => {
      const strategy = createStrategy(name, OPTIONS[name] ?? {});
      expect(strategy.name).toBe(name);
      const { federation } = await federate(learners(), {
        rounds: 2,
        strategy,
        initialWeights: zeroLinearWeights(),
      });
      const result = await federation.start();
      expect(result.rounds).toBe(2);
      expect(Array.from(result.weights.w!.data).every(Number.isFinite)).toBe(true);
    },
  );

  it('FedMedian takes the coordinate-wise median of the round, whatever the example counts', async () => {
    const { federation } = await federate(learners(), {
      rounds: 1,
      strategy: createStrategy('fedmedian'),
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    // Per coordinate, w: medians of {1,3,2,0,1} = 1, {2,2,2,4,1} = 2, {3,1,2,1,1} = 1; b: {1,-1,0,2,1} = 1.
    expect(Array.from(result.weights.w!.data)).toEqual([1, 2, 1]);
    expect(Array.from(result.weights.b!.data)).toEqual([1]);
  });

  it('Krum leaves planted outliers out and names them in the round summary', async () => {
    const honest = [
      fixed([1, 1, 1], 1, 1),
      fixed([1.1, 1, 1], 1, 1),
      fixed([0.9, 1, 1], 1, 1),
      fixed([1, 1.1, 1], 1, 1),
      fixed([1, 0.9, 1], 1, 1),
    ];
    const outliers = [fixed([100, 100, 100], 100, 1), fixed([-100, 100, -100], 100, 1)];
    const { federation } = await federate([...honest, ...outliers], {
      rounds: 1,
      strategy: createStrategy('krum', { byzantine: 2, keep: 5 }),
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    expect(result.history[0]!.rejected.map((r) => r.client)).toEqual(['learner-5', 'learner-6']);
    expect(Array.from(result.weights.w!.data).map((x) => Math.round(x * 1e5) / 1e5)).toEqual([1, 1, 1]);
  });

  it('refuses options a strategy does not take, or that are not numbers, naming them', () => {
    expect(() => createStrategy('fedadam', { mu: 0.1 })).toThrow(
      /strategy\.options\.mu is not an option of fedadam \(it takes eta, beta1, beta2, tau\)/,
    );
    expect(() => createStrategy('fedavg', { eta: 1 })).toThrow(/it takes none/);
    expect(() => createStrategy('fedadam', { eta: '0.1' })).toThrow(
      /strategy\.options\.eta must be a number \(got "0\.1"\)/,
    );
    expect(() => createStrategy('krum', { byzantine: -1 })).toThrow(/byzantine must be an integer >= 0/);
    expect(() => createStrategy('centeredclipping')).toThrow(/tau must be a positive number/);
  });
});

describe('a server optimiser across a restart', () => {
  const run = async (strategy: Strategy, rounds: number, store: MemoryCheckpointStore) => {
    const { federation } = await federate(learners(), {
      rounds,
      strategy,
      store,
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    nodes.splice(0).forEach((n) => n.close());
    return result;
  };

  it('FedAdam: 2 rounds, stop, resume to 4 reaches bit-identical weights to 4 rounds straight', async () => {
    const straight = await run(new FedAdam({ eta: 0.1 }), 4, new MemoryCheckpointStore());
    const store = new MemoryCheckpointStore();
    await run(new FedAdam({ eta: 0.1 }), 2, store);
    expect((await store.load())!.strategy).toMatchObject({ optimizer: { optimizer: 'fedadam', steps: 2 } });
    const resumed = await run(new FedAdam({ eta: 0.1 }), 4, store);
    expect(resumed.history.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    expect(Array.from(resumed.weights.w!.data)).toEqual(Array.from(straight.weights.w!.data));
    expect(Array.from(resumed.weights.b!.data)).toEqual(Array.from(straight.weights.b!.data));
  });

  it('without its state a resumed FedAdam drifts: the checkpoint is what keeps it identical', async () => {
    const straight = await run(new FedAdam({ eta: 0.1 }), 4, new MemoryCheckpointStore());
    const store = new MemoryCheckpointStore();
    await run(new FedAdam({ eta: 0.1 }), 2, store);
    const saved = (await store.load())!;
    await store.save({ round: saved.round, weights: saved.weights, history: saved.history });
    const resumed = await run(new FedAdam({ eta: 0.1 }), 4, store);
    expect(Array.from(resumed.weights.w!.data)).not.toEqual(Array.from(straight.weights.w!.data));
  });
});
