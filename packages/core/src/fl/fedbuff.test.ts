import { afterEach, describe, expect, it } from 'vitest';
import { nextEvent } from '../test-support.js';
import { MemoryCheckpointStore } from './checkpoint.js';
import { stalenessWeight } from './fedbuff.js';
import { Federation } from './federation.js';
import { federationMaker, fixed, ScriptedLearner } from './federation.test-support.js';
import type { TrainParams, TrainResult } from './learner.js';
import { LinearLearner, linearData, zeroLinearWeights } from './linear-learner.test-support.js';
import { FedAdam } from './strategies/server-optimized.js';
import { tensor } from './weights.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

/** A learner that adds `step` to every weight it is sent, when the test lets it (or at once). */
class StepLearner extends ScriptedLearner {
  readonly #waiting: (() => void)[] = [];
  gated = false;
  calls = 0;
  /** Calls past this many wait for `release()`. */
  gateAfter = Infinity;
  constructor(step: number) {
    super(fixed([0, 0, 0], 0, 1), {
      train: async (p: TrainParams): Promise<TrainResult> => {
        this.calls += 1;
        if (this.gated || this.calls > this.gateAfter)
          await new Promise<void>((resolve) => this.#waiting.push(resolve));
        const weights = {
          w: tensor(Array.from(p.weights.w!.data, (x) => x + step)),
          b: tensor(Array.from(p.weights.b!.data, (x) => x + step)),
        };
        return { weights, numExamples: 1 };
      },
    });
  }
  release(): void {
    this.gated = false;
    this.gateAfter = Infinity;
    this.#waiting.splice(0).forEach((r) => r());
  }
}

describe('FedBuff', () => {
  it('weighs a result by 1/sqrt(1 + staleness), as the paper does', () => {
    expect([0, 1, 3, 8].map(stalenessWeight)).toEqual([1, 1 / Math.sqrt(2), 0.5, 1 / 3]);
  });

  it('makes versions from the fast learners while a slow one trains, then folds the slow result in, its change scaled by its staleness', async () => {
    const fastA = new StepLearner(1);
    const fastB = new StepLearner(1);
    const slow = new StepLearner(10);
    slow.gated = true;
    // The fast ones make versions 1 to 3, then wait: version 4 needs the slow learner.
    fastA.gateAfter = 3;
    fastB.gateAfter = 3;
    const { federation } = await federate([fastA, fastB, slow], {
      rounds: 4,
      minClients: 3,
      schedule: { name: 'fedbuff', concurrency: 3, buffer: 2 },
      initialWeights: zeroLinearWeights(),
    });
    const third = new Promise<void>((resolve) =>
      federation.events.on('ROUND_FINISHED', (s) => {
        if (s.round === 3) resolve();
      }),
    );
    const run = federation.start();
    await third;
    expect(federation.history.map((s) => [...s.clients].sort())).toEqual([
      ['learner-0', 'learner-1'],
      ['learner-0', 'learner-1'],
      ['learner-0', 'learner-1'],
    ]);
    // A learner is asked again as soon as it answers, from the newest model there is then. Version
    // 1: both from version 0, +1 each: 1. Later fast results are one version old when they count:
    // their +1 is scaled by s(1) = 1/sqrt(2) on the newest model, so version 2 = 1 + s, version
    // 3 = 1 + 2s.
    const s1 = Math.SQRT1_2;
    const v3 = 1 + 2 * s1;
    expect(federation.weights!.w!.data[0]).toBeCloseTo(v3, 5);
    slow.release();
    fastA.release();
    const result = await run;
    // Version 4: the slow result, +10 from version 0, three versions old: v3 + 10 * s(3) = v3 + 5;
    // fastA's, +1 from version 2, one version old: v3 + s(1). Their mean (one example each).
    expect([...result.history[3]!.clients].sort()).toEqual(['learner-0', 'learner-2']);
    expect(result.weights.w!.data[0]).toBeCloseTo((v3 + 5 + (v3 + s1)) / 2, 5);
  });

  it('drops a result more than maxStaleness versions old and counts it', async () => {
    const slow = new StepLearner(100);
    slow.gated = true;
    const { federation } = await federate([new StepLearner(1), new StepLearner(1), slow], {
      rounds: 4,
      minClients: 3,
      schedule: { name: 'fedbuff', concurrency: 3, buffer: 2, maxStaleness: 1 },
      initialWeights: zeroLinearWeights(),
    });
    const second = nextEvent(federation.events, 'ROUND_FINISHED');
    const run = federation.start();
    await second;
    await nextEvent(federation.events, 'ROUND_FINISHED');
    slow.release();
    const result = await run;
    expect(result.history.reduce((n, s) => n + (s.stale ?? 0), 0)).toBe(1);
    expect(Array.from(result.weights.w!.data).every((x) => x < 100)).toBe(true);
  });

  it('resumes from a checkpoint with the learners under way asked again: 2 versions + 2 equals 4 straight, bit for bit', async () => {
    const learners = () => [
      new LinearLearner(linearData(1, 20)),
      new LinearLearner(linearData(2, 20)),
      new LinearLearner(linearData(3, 20)),
    ];
    const options = {
      minClients: 3,
      schedule: { name: 'fedbuff' as const, concurrency: 3, buffer: 2 },
      config: { lr: 0.1 },
      initialWeights: zeroLinearWeights(),
    };
    const run = async (rounds: number, store: MemoryCheckpointStore) => {
      const { federation } = await federate(learners(), {
        ...options,
        rounds,
        strategy: new FedAdam({ eta: 0.05 }),
        store,
      });
      const result = await federation.start();
      nodes.splice(0).forEach((n) => n.close());
      return result;
    };
    const straight = await run(4, new MemoryCheckpointStore());
    const store = new MemoryCheckpointStore();
    await run(2, store);
    const saved = (await store.load())!;
    // Version 2 was made while one learner still trained: the checkpoint keeps it, to ask it again.
    const tasks = saved.schedule!.tasks as { client: string; version: number }[];
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks) expect(task.version).toBeLessThan(2);
    const resumed = await run(4, store);
    expect(Array.from(resumed.weights.w!.data)).toEqual(Array.from(straight.weights.w!.data));
    expect(Array.from(resumed.weights.b!.data)).toEqual(Array.from(straight.weights.b!.data));
  });

  it('refuses a checkpoint whose FedBuff state is not what it saves, naming it, before any learner is asked', async () => {
    const bad = [
      { tasks: [{ client: 7, version: 0, weights: zeroLinearWeights() }] },
      { tasks: [{ client: 'learner-0', version: 0.5, weights: zeroLinearWeights() }] },
      {
        arrivals: [
          {
            client: 'learner-0',
            version: 0,
            base: zeroLinearWeights(),
            weights: { w: 'x' },
            numExamples: 1,
            metrics: {},
          },
        ],
      },
      {
        arrivals: [
          {
            client: 'learner-0',
            version: 0,
            base: zeroLinearWeights(),
            weights: zeroLinearWeights(),
            numExamples: Number.NaN,
            metrics: {},
          },
        ],
      },
    ];
    for (const schedule of bad) {
      const store = new MemoryCheckpointStore();
      await store.save({ round: 1, weights: zeroLinearWeights(), history: [], schedule: schedule as never });
      const learner = new StepLearner(1);
      const { federation } = await federate([learner], {
        rounds: 2,
        store,
        schedule: { name: 'fedbuff', concurrency: 1, buffer: 1 },
      });
      await expect(federation.start()).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
        message: expect.stringMatching(/checkpoint: a FedBuff/),
      });
      expect(learner.calls).toBe(0);
      nodes.splice(0).forEach((n) => n.close());
    }
  });

  it('counts an update that would overflow the running sum as its learner failure, and makes versions from the rest', async () => {
    const liar = fixed([3e38, 3e38, 3e38], 3e38, 5);
    const { federation } = await federate([new StepLearner(1), new StepLearner(1), liar], {
      rounds: 2,
      minClients: 3,
      schedule: { name: 'fedbuff', concurrency: 3, buffer: 2 },
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    const failures = result.history.flatMap((s) => s.failures);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.every((f) => f.client === 'learner-2' && f.code === 'INVALID_RESULT')).toBe(true);
    expect(result.history.every((s) => !s.clients.includes('learner-2'))).toBe(true);
    expect(Array.from(result.weights.w!.data).every((x) => x > 0 && x < 10)).toBe(true);
  });

  it('refuses a buffer larger than its concurrency, naming both', async () => {
    const { trainer } = await federate([], { rounds: 1 });
    expect(
      () =>
        new Federation({
          node: trainer,
          rounds: 1,
          schedule: { name: 'fedbuff', concurrency: 2, buffer: 3 },
        }),
    ).toThrow(/federation\.schedule\.buffer must be an integer from 1 to concurrency \(2\) \(got 3\)/);
  });
});
