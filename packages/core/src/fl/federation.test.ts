import { afterEach, describe, expect, it } from 'vitest';
import { currentCall } from '../rpc/call-context.js';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { nextEvent } from '../test-support.js';
import { MemoryCheckpointStore } from './checkpoint.js';
import { FedAvg, FedProx } from './strategies/fedavg.js';
import { Federation } from './federation.js';
import { federationMaker, fixed, ScriptedLearner } from './federation.test-support.js';
import type { Learner, TrainParams, TrainResult } from './learner.js';
import { LinearLearner, linearData, zeroLinearWeights } from './linear-learner.test-support.js';
import type { RoundFailure } from './round.js';
import type { Aggregation } from './aggregation.js';
import { Strategy } from './strategy.js';
import { WeightedMean } from './weighted-mean.js';
import { maxAbsDiff, tensor } from './weights.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

describe('Federation with FedAvg', () => {
  it('aggregates to the example-weighted mean of the updates, as computed directly', async () => {
    const updates = [
      { w: [1, 2, 3], b: 4, n: 10 },
      { w: [-1, 0, 5], b: 0, n: 30 },
      { w: [0.5, 0.25, -2], b: -8, n: 60 },
    ];
    const { federation } = await federate(
      updates.map((u) => fixed(u.w, u.b, u.n)),
      { rounds: 1, initialWeights: zeroLinearWeights() },
    );
    const result = await federation.start();
    const total = updates.reduce((s, u) => s + u.n, 0);
    const expectW = [0, 1, 2].map((d) => updates.reduce((s, u) => s + u.w[d]! * u.n, 0) / total);
    const expectB = updates.reduce((s, u) => s + u.b * u.n, 0) / total;
    expect(maxAbsDiff(result.weights, { w: tensor(expectW, [3]), b: tensor([expectB], [1]) })).toBeLessThan(
      1e-6,
    );
    expect(result.history[0]).toMatchObject({ round: 1, results: 3, numExamples: 100, failures: [] });
    expect(result.history[0]!.trainMetrics.loss).toBeCloseTo((10 * 10 + 30 * 30 + 60 * 60) / 100);
  });

  it('trains real learners to a good global model over rounds, with the loss falling', async () => {
    const learners = [1, 2, 3, 4].map((seed) => new LinearLearner(linearData(seed, 50)));
    const { federation } = await federate(learners, {
      rounds: 5,
      config: { lr: 0.05, epochs: 1 },
      federatedEvaluation: true,
    });
    const rounds: number[] = [];
    federation.events.on('ROUND_FINISHED', (s) => rounds.push(s.evalMetrics.federated_loss!));
    const result = await federation.start();
    expect(result).toMatchObject({ reason: 'completed', rounds: 5 });
    expect(rounds).toHaveLength(5);
    expect(rounds[4]!).toBeLessThan(rounds[0]!);
    expect(rounds[4]!).toBeLessThan(0.05);
    expect(result.weights.w!.data[0]).toBeCloseTo(2, 0);
    // Every learner started each round from the global model of the round before.
    expect(learners[0]!.seen.map((p) => p.round)).toEqual([1, 2, 3, 4, 5]);
  });

  it('takes the initial model from the first learner when none is given', async () => {
    const { federation } = await federate([fixed([1, 1, 1], 1, 5)], { rounds: 1 });
    const started = nextEvent(federation.events, 'ROUND_STARTED');
    await federation.start();
    expect((await started)[0].clients).toEqual(['learner-0']);
  });

  it('completes a round without a learner that throws, and reports it', async () => {
    const broken = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => Promise.reject(new Error('out of memory')),
    });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), broken, fixed([3, 3, 3], 3, 10)], {
      rounds: 1,
      initialWeights: zeroLinearWeights(),
    });
    const failed = nextEvent(federation.events, 'CLIENT_FAILED');
    const result = await federation.start();
    expect((await failed)[0]).toMatchObject({
      round: 1,
      client: 'learner-1',
      code: 'REMOTE_ERROR',
      message: 'out of memory',
    });
    expect(result.history[0]).toMatchObject({
      results: 2,
      failures: [{ client: 'learner-1', code: 'REMOTE_ERROR' }],
    });
    expect(Array.from(result.weights.w!.data)).toEqual([2, 2, 2]);
  });

  it('completes a round at its deadline without a learner that never answers', async () => {
    const silent = new ScriptedLearner(fixed([0, 0, 0], 0, 1), { train: () => new Promise(() => undefined) });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), silent], {
      rounds: 1,
      deadline: 100,
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    expect(result.history[0]!.failures).toEqual([
      { client: 'learner-1', code: 'TIMEOUT', message: expect.stringMatching(/timed out/) },
    ]);
    expect(Array.from(result.weights.w!.data)).toEqual([1, 1, 1]);
  });

  it('completes a round without a learner that disconnects mid-round, reported as DISCONNECTED at once', async () => {
    let vanish: () => void = () => undefined;
    const vanishing = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => {
        queueMicrotask(vanish);
        return new Promise(() => undefined);
      },
    });
    const { federation, learnerNodes } = await federate([fixed([4, 4, 4], 4, 10), vanishing], {
      rounds: 1,
      deadline: 60_000,
      initialWeights: zeroLinearWeights(),
    });
    vanish = () => learnerNodes[1]!.close();
    const started = Date.now();
    const result = await federation.start();
    expect(result.history[0]!.failures).toMatchObject([{ client: 'learner-1', code: 'DISCONNECTED' }]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(federation.status().clients.find((c) => c.id === 'learner-1')?.state).toBe('unregistered');
  });

  it('fails the round with ROUND_FAILED when fewer than minResults results arrive', async () => {
    const broken = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => Promise.reject(new Error('nope')),
    });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), broken, broken], {
      rounds: 3,
      minClients: 2,
      initialWeights: zeroLinearWeights(),
    });
    const reported = nextEvent(federation.events, 'ROUND_FAILED');
    await expect(federation.start()).rejects.toMatchObject({
      code: 'ROUND_FAILED',
      message: expect.stringMatching(
        /round 1: 1 of 3 learners returned train results, fewer than minResults 2 \(learner-1: REMOTE_ERROR nope; learner-2: REMOTE_ERROR nope\)/,
      ),
    });
    expect(federation.state).toBe('failed');
    expect((await reported)[0]).toMatchObject({
      round: 1,
      attempt: 1,
      retryInMs: undefined,
      failures: [{ client: 'learner-1' }, { client: 'learner-2' }],
    });
  });

  it('refuses a result whose weights do not fit the model, as that learner failure', async () => {
    const odd = fixed([1, 2], 0, 10); // two values where the model has three
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), odd], {
      rounds: 1,
      initialWeights: zeroLinearWeights(),
    });
    const result = await federation.start();
    expect(result.history[0]!.failures).toMatchObject([
      {
        client: 'learner-1',
        code: 'INVALID_RESULT',
        message: expect.stringMatching(/tensor w has 2 values, expected 3/),
      },
    ]);
  });

  it('pauses between rounds and resumes on demand', async () => {
    const { federation } = await federate([new LinearLearner(linearData(1, 20))], { rounds: 3 });
    const started: number[] = [];
    federation.events.on('ROUND_STARTED', ({ round }) => started.push(round));
    federation.events.once('ROUND_FINISHED', () => federation.pause());
    const paused = nextEvent(federation.events, 'STATE_CHANGED');
    const run = federation.start();
    // running, then paused once round 1 finished
    expect((await paused)[0]).toBe('running');
    await new Promise<void>((resolve) =>
      federation.events.on('STATE_CHANGED', (s) => s === 'paused' && resolve()),
    );
    // pause() ran inside ROUND_FINISHED, before the loop could reach round 2: it now waits at the gate.
    expect(started).toEqual([1]);
    expect(federation.status()).toMatchObject({ state: 'paused', round: 1 });
    federation.resume();
    expect((await run).rounds).toBe(3);
    expect(started).toEqual([1, 2, 3]);
  });

  it('resumes from a checkpoint: the saved round and the saved weights', async () => {
    const store = new MemoryCheckpointStore();
    const data = linearData(7, 40);
    const first = await federate([new LinearLearner(data)], {
      rounds: 5,
      store,
      config: { lr: 0.05 },
      stopWhen: (s) => s.round === 2,
    });
    const stopped = await first.federation.start();
    expect(stopped).toMatchObject({ reason: 'condition', rounds: 2 });
    nodes.splice(0).forEach((n) => n.close());

    const learner = new LinearLearner(data);
    const second = await federate([learner], { rounds: 4, store, config: { lr: 0.05 } });
    const resumed = await second.federation.start();
    expect(resumed.rounds).toBe(4);
    expect(resumed.history.map((r) => r.round)).toEqual([1, 2, 3, 4]);
    expect(learner.seen.map((p) => p.round)).toEqual([3, 4]);
    expect(maxAbsDiff(learner.seen[0]!.weights, stopped.weights)).toBe(0);
  });

  it('stops mid-round: the calls are cancelled and start() resolves as stopped', async () => {
    let cancelled: Promise<void> = Promise.resolve();
    const slow = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => {
        const { signal } = currentCall();
        cancelled = new Promise((resolve) => signal.addEventListener('abort', () => resolve()));
        return new Promise(() => undefined);
      },
    });
    const { federation } = await federate([slow], { rounds: 2, initialWeights: zeroLinearWeights() });
    federation.events.once('ROUND_STARTED', () => queueMicrotask(() => federation.stop()));
    const result = await federation.start();
    expect(result).toMatchObject({ reason: 'stopped', rounds: 0, history: [] });
    await cancelled;
    expect(federation.state).toBe('stopped');
  });

  it('selects a seeded random fraction of learners, the same for the same seed', async () => {
    const learners = Array.from({ length: 10 }, (_, i) => fixed([i, i, i], i, 1));
    const run = async (seed: number) => {
      const { federation } = await federate(learners, {
        rounds: 3,
        selection: { fraction: 0.3 },
        seed,
        initialWeights: zeroLinearWeights(),
      });
      const picked: string[][] = [];
      federation.events.on('ROUND_STARTED', ({ clients }) => picked.push(clients));
      await federation.start();
      nodes.splice(0).forEach((n) => n.close());
      return picked;
    };
    const a = await run(42);
    const b = await run(42);
    expect(a).toEqual(b);
    expect(a.every((round) => round.length === 3)).toBe(true);
    expect(new Set(a.map((r) => r.join())).size).toBeGreaterThan(1);
  });

  it('gives FedProx learners mu and the global weights', async () => {
    const learner = new LinearLearner(linearData(3, 10));
    const { federation } = await federate([learner], {
      rounds: 1,
      strategy: new FedProx({ mu: 0.5 }),
      config: { lr: 0.1 },
    });
    await federation.start();
    expect(learner.seen[0]!.config).toEqual({ lr: 0.1, mu: 0.5 });
    expect(Object.keys(learner.seen[0]!.weights)).toEqual(['w', 'b']);
  });

  it('reports status: round, clients with their states and activity', async () => {
    let release: () => void = () => undefined;
    const gated = new ScriptedLearner(fixed([1, 1, 1], 1, 1), {
      train: (p: TrainParams) =>
        new Promise<TrainResult>(
          (resolve) => (release = () => resolve({ weights: p.weights, numExamples: 1 })),
        ),
    });
    const { federation } = await federate([gated, fixed([1, 1, 1], 1, 1)], {
      rounds: 1,
      initialWeights: zeroLinearWeights(),
    });
    const oneDone = nextEvent(federation.events, 'CLIENT_RESULT');
    const run = federation.start();
    await oneDone;
    expect(federation.status()).toMatchObject({
      state: 'running',
      round: 1,
      rounds: 1,
      clients: [
        { id: 'learner-0', state: 'connected', activity: 'training' },
        { id: 'learner-1', state: 'connected', activity: 'idle' },
      ],
    });
    release();
    await run;
    expect(federation.status().state).toBe('finished');
  });

  it('fails to wait for learners that never come with TIMEOUT', async () => {
    const { federation } = await federate([], { rounds: 1 });
    await expect(federation.waitForClients(1, 30)).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/0 of 1 learners/),
    });
  });

  it('refuses invalid options with INVALID_CONFIG naming the field', () => {
    const node = new Node({ id: 't', heartbeat: false });
    nodes.push(node);
    expect(() => new Federation({ node, rounds: 0 })).toThrow(
      /federation\.rounds must be a positive integer \(got 0\)/,
    );
    expect(() => new Federation({ node, rounds: 1, minClients: 0 })).toThrow(/federation\.minClients/);
    expect(() => new Federation({ node, rounds: 1, selection: { fraction: 1.5 } })).toThrow(
      /federation\.fraction must be in \(0, 1\]/,
    );
    expect(() => new FedProx({ mu: -1 })).toThrow(/mu must be a number >= 0/);
    expect(new FedAvg().name).toBe('fedavg');
  });
});

const sleeper = () =>
  new ScriptedLearner(fixed([0, 0, 0], 0, 1), { train: () => new Promise(() => undefined) });
/** 4 MiB of text that would clear a terminal and break a line, as a hostile learner's error. */
const hugeMessage = `\u001b[2J\u001b[31m${'x'.repeat(4 << 20)}\nforged line`;

/** A user's own strategy: a plain mean of the updates, fed through the same validation as FedAvg's. */
class PlainMeanStrategy extends Strategy {
  readonly name = 'plain-mean';
  readonly seen: string[] = [];
  override aggregation(): Aggregation {
    const mean = new WeightedMean();
    return {
      keepsUpdates: false,
      add: (update) => {
        this.seen.push(update.client);
        mean.add(update.weights, 1);
      },
      result: () => ({ weights: mean.result(), rejected: [] }),
    };
  }
}

describe('Federation with hostile learners', () => {
  it("validates results for a user's Strategy too: null, NaN weights and 1e30 examples fail only their learner", async () => {
    const honest = fixed([1, 1, 1], 1, 10);
    const nanWeights = { w: tensor([1, Number.NaN, 1]), b: tensor([1]) };
    const strategy = new PlainMeanStrategy();
    const { federation } = await federate(
      [
        honest,
        new ScriptedLearner(honest, { train: () => null }),
        new ScriptedLearner(honest, { train: () => ({ weights: nanWeights, numExamples: 10 }) }),
        new ScriptedLearner(honest, { train: () => ({ weights: honest.update, numExamples: 1e30 }) }),
        new ScriptedLearner(fixed([5, 5, 5], 5, 10), { evaluate: () => null }),
      ],
      {
        rounds: 1,
        strategy,
        federatedEvaluation: true,
        maxExamples: 1_000,
        initialWeights: zeroLinearWeights(),
      },
    );
    const result = await federation.start();
    expect(strategy.seen.sort()).toEqual(['learner-0', 'learner-4']);
    expect(Array.from(result.weights.w!.data)).toEqual([3, 3, 3]);
    expect(result.history[0]!.failures).toEqual([
      { client: 'learner-1', code: 'INVALID_RESULT', message: 'train result is null, not an object' },
      {
        client: 'learner-2',
        code: 'INVALID_RESULT',
        message: 'tensor w has a non-finite value (NaN) at index 1',
      },
      {
        client: 'learner-3',
        code: 'INVALID_RESULT',
        message: 'numExamples must be an integer from 1 to 1000 (got 1e+30)',
      },
      { client: 'learner-4', code: 'INVALID_RESULT', message: 'evaluate result is null, not an object' },
    ]);
    expect(result.history[0]!.evalMetrics.federated_accuracy).toBeCloseTo(0.1);
  });

  it('takes the starting model from the next learner when the first answers getWeights with NaN', async () => {
    const honest = new LinearLearner(linearData(1, 10));
    const { federation } = await federate(
      [
        new ScriptedLearner(fixed([1, 1, 1], 1, 1), {
          getWeights: () => ({ w: tensor([Number.NaN, 0, 0]), b: tensor([0]) }),
        }),
        honest,
      ],
      { rounds: 1 },
    );
    const failed = nextEvent(federation.events, 'CLIENT_FAILED');
    await federation.start();
    expect((await failed)[0]).toEqual({
      round: 0,
      client: 'learner-0',
      code: 'INVALID_RESULT',
      message: 'starting model: tensor w has a non-finite value (NaN) at index 0',
    });
    expect(maxAbsDiff(honest.seen[0]!.weights, zeroLinearWeights())).toBe(0);
  });

  it('fails with TIMEOUT naming the last failure when no learner gives a usable starting model', async () => {
    const { federation } = await federate(
      [new ScriptedLearner(fixed([1, 1, 1], 1, 1), { getWeights: () => ({}) })],
      { rounds: 1, clientWait: 30 },
    );
    await expect(federation.start()).rejects.toMatchObject({
      code: 'TIMEOUT',
      message:
        'no learner gave a usable starting model within 30 ms (last: learner-0: INVALID_RESULT starting model: weights hold no tensor)',
    });
  });

  it('keeps a 4 MiB error message with escapes as one bounded line in events, history and checkpoints', async () => {
    const store = new MemoryCheckpointStore();
    const thrower = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => Promise.reject(new Error(hugeMessage)),
    });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), thrower], {
      rounds: 1,
      store,
      initialWeights: zeroLinearWeights(),
    });
    const failed = nextEvent(federation.events, 'CLIENT_FAILED');
    await federation.start();
    const kept = [(await failed)[0].message, (await store.load())!.history[0]!.failures[0]!.message];
    for (const message of kept) {
      expect(message.length).toBeLessThanOrEqual(1024);
      expect(message).toMatch(/^\\u001b\[2J\\u001b\[31mxxx+…$/);
      expect(message).not.toMatch(/\p{Cc}/u);
    }
  });

  it("with onRoundFailure 'retry', reports a failed round and runs it again as soon as a learner joins", async () => {
    const thrower = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => Promise.reject(new Error(hugeMessage)),
    });
    const { trainer, federation } = await federate([fixed([1, 1, 1], 1, 10), thrower], {
      rounds: 2,
      minClients: 2,
      onRoundFailure: 'retry',
      retryDelay: 60_000,
      initialWeights: zeroLinearWeights(),
    });
    const failed = nextEvent(federation.events, 'ROUND_FAILED');
    const run = federation.start();
    const [failure] = await failed;
    expect(failure).toMatchObject({
      round: 1,
      attempt: 1,
      retryInMs: 60_000,
      failures: [{ client: 'learner-1', code: 'REMOTE_ERROR' }],
    });
    expect(failure.reason).toMatch(
      /^round 1: 1 of 2 learners returned train results, fewer than minResults 2 \(learner-1: REMOTE_ERROR \\u001b/,
    );
    expect(failure.reason.length).toBeLessThanOrEqual(1024);
    expect(federation.status()).toMatchObject({ state: 'running', round: 1 });
    // A good learner joins: the retry does not wait out its 60 s.
    const late = new Node({ id: 'learner-late', role: 'learner', heartbeat: false });
    nodes.push(late);
    late.serve(fixed([4, 4, 4], 4, 10));
    await joinInMemory(trainer, late, { strict: true });
    const result = await run;
    expect(result).toMatchObject({ reason: 'completed', rounds: 2 });
    expect(result.history[0]).toMatchObject({
      round: 1,
      results: 2,
      clients: ['learner-0', 'learner-1', 'learner-late'],
    });
  });

  it('waits longer before each retry while a round keeps failing, and stop() ends the wait', async () => {
    const thrower = new ScriptedLearner(fixed([0, 0, 0], 0, 1), {
      train: () => Promise.reject(new Error('nope')),
    });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), thrower], {
      rounds: 1,
      minClients: 2,
      onRoundFailure: 'retry',
      retryDelay: 5,
      exclude: false,
      initialWeights: zeroLinearWeights(),
    });
    const failures: RoundFailure[] = [];
    federation.events.on('ROUND_FAILED', (f) => {
      failures.push(f);
      if (failures.length === 4) federation.stop();
    });
    const result = await federation.start();
    expect(failures.map((f) => [f.attempt, f.retryInMs])).toEqual([
      [1, 5],
      [2, 10],
      [3, 20],
      [4, 40],
    ]);
    expect(result).toMatchObject({ reason: 'stopped', rounds: 0 });
  });

  it('leaves sleepers out of selection after `after` failed rounds, for `rounds` rounds, then tries them again and leaves them out twice as long', async () => {
    const sleepers = Array.from({ length: 20 }, sleeper);
    const { federation } = await federate([...sleepers, fixed([1, 1, 1], 1, 10), fixed([3, 3, 3], 3, 10)], {
      rounds: 7,
      minClients: 2,
      deadline: 100,
      exclude: { after: 2, rounds: 3 },
      initialWeights: zeroLinearWeights(),
    });
    const all = Array.from({ length: 22 }, (_, i) => `learner-${i}`).sort();
    const honest = ['learner-20', 'learner-21'];
    const selected: string[][] = [];
    const excluded: { round: number; client: string; failures: number; rounds: number }[] = [];
    let afterRound2: unknown;
    federation.events.on('ROUND_STARTED', ({ clients }) => selected.push(clients));
    federation.events.on('CLIENT_EXCLUDED', (e) => excluded.push(e));
    federation.events.on(
      'ROUND_FINISHED',
      ({ round }) => round === 2 && (afterRound2 = federation.status().clients),
    );
    const result = await federation.start();
    expect(result).toMatchObject({ reason: 'completed', rounds: 7 });
    expect(selected).toEqual([all, all, honest, honest, honest, all, honest]);
    expect(result.history.map((r) => r.failures.length)).toEqual([20, 20, 0, 0, 0, 20, 0]);
    const sleeperIds = all.filter((id) => !honest.includes(id));
    const excludedIn = (round: number, failures: number, rounds: number) =>
      excluded
        .filter((e) => e.round === round && e.failures === failures && e.rounds === rounds)
        .map((e) => e.client)
        .sort();
    expect(excluded).toHaveLength(40);
    expect(excludedIn(2, 2, 3)).toEqual(sleeperIds);
    // They failed their other chance too: left out twice as long.
    expect(excludedIn(6, 3, 6)).toEqual(sleeperIds);
    expect(afterRound2).toContainEqual(
      expect.objectContaining({
        id: 'learner-0',
        state: 'connected',
        activity: 'idle',
        failures: 2,
        excludedFor: 3,
      }),
    );
    expect(afterRound2).toContainEqual(
      expect.objectContaining({
        id: 'learner-20',
        state: 'connected',
        activity: 'idle',
        failures: 0,
        excludedFor: 0,
      }),
    );
  });

  it('takes a left-out learner back at once when the round needs it to reach minClients', async () => {
    let calls = 0;
    const flaky = new ScriptedLearner(fixed([3, 3, 3], 3, 10), {
      train: () => (++calls === 1 ? Promise.reject(new Error('once')) : fixed([3, 3, 3], 3, 10).train()),
    });
    const { federation } = await federate([fixed([1, 1, 1], 1, 10), flaky], {
      rounds: 1,
      minClients: 2,
      onRoundFailure: 'retry',
      retryDelay: 1,
      exclude: { after: 1, rounds: 10 },
      initialWeights: zeroLinearWeights(),
    });
    const selected: string[][] = [];
    federation.events.on('ROUND_STARTED', ({ clients }) => selected.push(clients));
    const excluded = nextEvent(federation.events, 'CLIENT_EXCLUDED');
    const result = await federation.start();
    expect((await excluded)[0]).toMatchObject({ round: 1, client: 'learner-1', failures: 1, rounds: 10 });
    expect(selected).toEqual([
      ['learner-0', 'learner-1'],
      ['learner-0', 'learner-1'],
    ]);
    expect(result).toMatchObject({ reason: 'completed', rounds: 1 });
    expect(Array.from(result.weights.w!.data)).toEqual([2, 2, 2]);
  });

  it('keeps a learner left out when it leaves, is forgotten by the registry, and comes back under its id', async () => {
    const trainer = new Node({
      id: 'trainer',
      role: 'trainer',
      heartbeat: false,
      registry: { recentDeparted: 0 },
    });
    const joined = async (id: string, learner: Learner) => {
      const node = new Node({ id, role: 'learner', heartbeat: false });
      nodes.push(node);
      node.serve(learner);
      await joinInMemory(trainer, node, { strict: true });
      return node;
    };
    nodes.push(trainer);
    await joined('learner-0', fixed([1, 1, 1], 1, 10));
    await joined('learner-1', fixed([3, 3, 3], 3, 10));
    const broken = await joined(
      'learner-2',
      new ScriptedLearner(fixed([0, 0, 0], 0, 1), { train: () => Promise.reject(new Error('broken')) }),
    );
    const federation = new Federation({
      node: trainer,
      strategy: new FedAvg(),
      rounds: 2,
      minClients: 2,
      exclude: { after: 1, rounds: 100 },
      initialWeights: zeroLinearWeights(),
    });
    const selected: string[][] = [];
    federation.events.on('ROUND_STARTED', ({ clients }) => selected.push(clients));
    federation.events.once('ROUND_FINISHED', () => federation.pause());
    const paused = new Promise<void>((resolve) =>
      federation.events.on('STATE_CHANGED', (s) => s === 'paused' && resolve()),
    );
    const run = federation.start();
    await paused;
    const gone = nextEvent(trainer.events, 'CLIENT_UNREGISTERED');
    broken.close('reload');
    await gone;
    expect(trainer.registry.get('learner-2')).toBeUndefined();
    const registered = nextEvent(trainer.events, 'CLIENT_REGISTERED');
    await joined('learner-2', fixed([9, 9, 9], 9, 10));
    // New to the registry, but the federation still knows what it did.
    expect((await registered)[0]).not.toHaveProperty('previous');
    expect(federation.status().clients).toContainEqual(
      expect.objectContaining({
        id: 'learner-2',
        state: 'connected',
        activity: 'idle',
        failures: 1,
        excludedFor: 100,
      }),
    );
    federation.resume();
    expect(await run).toMatchObject({ reason: 'completed', rounds: 2 });
    expect(selected).toEqual([
      ['learner-0', 'learner-1', 'learner-2'],
      ['learner-0', 'learner-1'],
    ]);
  });

  it('selects among learners not left out, seeded: the same for the same seed', async () => {
    const learners = Array.from({ length: 12 }, (_, i) =>
      i % 2
        ? fixed([1, 1, 1], 1, 1)
        : new ScriptedLearner(fixed([0, 0, 0], 0, 1), { train: () => Promise.reject(new Error('broken')) }),
    );
    const run = async () => {
      const { federation } = await federate(learners, {
        rounds: 6,
        selection: { fraction: 0.5 },
        seed: 9,
        exclude: { after: 1, rounds: 100 },
        initialWeights: zeroLinearWeights(),
      });
      const picked: string[][] = [];
      federation.events.on('ROUND_STARTED', ({ clients }) => picked.push(clients));
      await federation.start();
      nodes.splice(0).forEach((n) => n.close());
      return picked;
    };
    const a = await run();
    expect(await run()).toEqual(a);
    const broken = Array.from({ length: 6 }, (_, i) => `learner-${i * 2}`);
    // A broken learner is picked once at most: after its failure it is left out for the run.
    for (const id of broken) expect(a.filter((round) => round.includes(id)).length).toBeLessThanOrEqual(1);
    expect(a.flat().filter((id) => broken.includes(id)).length).toBeGreaterThan(0);
  });
});
