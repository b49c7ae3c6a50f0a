import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { ManualClock, nextEvent, withTimeout } from '../test-support.js';
import { Federation } from './federation.js';
import { federationMaker, fixed, ScriptedLearner } from './federation.test-support.js';
import { TELEMETRY_INTERVAL } from './telemetry.js';

const { nodes, federate } = federationMaker();
afterEach(() => {
  nodes.splice(0).forEach((n) => n.close());
});

describe('Federation.telemetry', () => {
  it('gives one point per finished round and, per learner, the rounds it contributed, its last result and the bytes of its link', async () => {
    const { federation } = await federate([fixed([1, 1], 0, 10), fixed([3, 3], 0, 30)], {
      rounds: 3,
      minClients: 2,
      initialWeights: fixed([0, 0], 0, 1).update,
      evaluate: (_w, round) => ({ accuracy: round / 10, loss: 1 / round }),
    });
    await federation.start();
    const t = federation.telemetry();
    expect(t).toMatchObject({ state: 'finished', round: 3, rounds: 3, strategy: 'fedavg' });
    expect(t.points.map((p) => p.round)).toEqual([1, 2, 3]);
    expect(t.points[2]).toMatchObject({ clients: 2, results: 2, failures: 0, eval: { accuracy: 0.3 } });
    // FedAvg's train loss: the example-weighted mean of the learners' (10 and 30, by 10 and 30 examples).
    expect(t.points[0]!.train.loss).toBeCloseTo((10 * 10 + 30 * 30) / 40);
    expect(t.learners).toEqual({ connected: 2, departed: 0, busy: 0 });
    const first = t.clients.find((c) => c.id === 'learner-0')!;
    expect(first).toMatchObject({
      state: 'connected',
      activity: 'idle',
      rounds: 3,
      failed: 0,
      lastResult: { round: 3, numExamples: 10, metrics: { loss: 10 } },
      // No heartbeat in these federations: nothing measured the round trip.
      rtt: undefined,
    });
    // Strict memory links encode every frame: each round sent a model and got one back.
    expect(first.bytesIn).toBeGreaterThan(3 * 40);
    expect(first.bytesOut).toBeGreaterThan(3 * 40);
    expect(federation.telemetry({ since: 2 }).points.map((p) => p.round)).toEqual([3]);
  });

  it('counts every failed call of a learner, and keeps only a few short-named metrics of its last result', async () => {
    let calls = 0;
    const manyMetrics = Object.fromEntries(
      Array.from({ length: 20 }, (_, i) => [i === 0 ? 'x'.repeat(40) : `m${i}`, i]),
    );
    const flaky = new ScriptedLearner(fixed([1, 1], 0, 5), {
      train: () => {
        if (++calls % 2 === 1) throw new Error('out of memory');
        return { weights: fixed([1, 1], 0, 5).update, numExamples: 5, metrics: manyMetrics };
      },
    });
    const { federation } = await federate([fixed([1, 1], 0, 10), flaky], {
      rounds: 4,
      minClients: 2,
      minResults: 1,
      initialWeights: fixed([0, 0], 0, 1).update,
    });
    await federation.start();
    const row = federation.status().clients.find((c) => c.id === 'learner-1')!;
    expect(row.failed).toBe(2);
    expect(row.rounds).toBe(2);
    expect(row.lastResult!.round).toBe(4);
    // The 40-character name is left out; four of the rest are kept.
    expect(Object.keys(row.lastResult!.metrics)).toEqual(['m1', 'm2', 'm3', 'm4']);
  });

  it('bounds the learner rows it returns and counts the rest', async () => {
    const { federation } = await federate(
      Array.from({ length: 5 }, () => fixed([1], 0, 1)),
      { rounds: 1, initialWeights: fixed([0], 0, 1).update },
    );
    const t = federation.telemetry({ rows: 2 });
    expect(t.clients.map((c) => c.id)).toEqual(['learner-0', 'learner-1']);
    expect(t.learners.connected).toBe(5);
    expect(federation.telemetry({ rows: -1 }).clients).toHaveLength(5);
  });

  it('keeps the bytes of a learner whose link closed, and reports no bytes over links that encode nothing', async () => {
    const { federation, learnerNodes } = await federate([fixed([1], 0, 1), fixed([2], 0, 1)], {
      rounds: 1,
      minClients: 2,
      initialWeights: fixed([0], 0, 1).update,
    });
    await federation.start();
    const before = federation.telemetry().clients.find((c) => c.id === 'learner-1')!;
    learnerNodes[1]!.close('done');
    await nextEvent(federation.events, 'TELEMETRY', 5_000);
    const after = federation.telemetry().clients.find((c) => c.id === 'learner-1')!;
    expect(after.state).toBe('unregistered');
    expect(after.bytesOut).toBe(before.bytesOut);
    expect(after.bytesIn).toBeGreaterThanOrEqual(before.bytesIn!);

    const trainer = new Node({ id: 'plain-trainer', role: 'trainer', heartbeat: false });
    const learner = new Node({ id: 'plain', role: 'learner', heartbeat: false });
    nodes.push(trainer, learner);
    await joinInMemory(trainer, learner);
    const plain = new Federation({ node: trainer, rounds: 1 }).telemetry().clients[0]!;
    expect(plain).toMatchObject({ id: 'plain', bytesIn: undefined, bytesOut: undefined });
  });

  it("reads a learner's round trip from the heartbeat's last ping and pong", async () => {
    const clock = new ManualClock();
    const trainer = new Node({
      id: 'hb-trainer',
      role: 'trainer',
      heartbeat: { interval: 100, timeout: 1_000 },
      clock,
    });
    const learner = new Node({ id: 'hb-learner', role: 'learner', heartbeat: false });
    nodes.push(trainer, learner);
    learner.handle('echo', (x: number) => x);
    await joinInMemory(trainer, learner, { strict: true });
    const federation = new Federation({ node: trainer, rounds: 1 });
    expect(federation.telemetry().clients[0]!.rtt).toBeUndefined();
    clock.advance(100);
    // The link keeps order: the pong to the ping just sent arrives before this call's result.
    await trainer.call('hb-learner', 'echo', [1]);
    expect(federation.telemetry().clients[0]!.rtt).toBe(0); // the manual clock stood still meanwhile
  });

  it('fires TELEMETRY after changes, coalesced to one per interval', async () => {
    const { federation } = await federate(
      Array.from({ length: 8 }, () => fixed([1], 0, 1)),
      { rounds: 3, minClients: 8, initialWeights: fixed([0], 0, 1).update },
    );
    const fired: number[] = [];
    federation.events.on('TELEMETRY', () => fired.push(Date.now()));
    await federation.start();
    await withTimeout(nextEvent(federation.events, 'TELEMETRY'), 5_000, 'no TELEMETRY after the run');
    // 3 rounds of 8 results, starts, ends and state changes: over 30 changes, in far fewer events.
    expect(fired.length).toBeGreaterThanOrEqual(1);
    expect(fired.length).toBeLessThan(10);
    for (let i = 1; i < fired.length; i++)
      expect(fired[i]! - fired[i - 1]!).toBeGreaterThanOrEqual(TELEMETRY_INTERVAL - 5);
    expect(federation.telemetry().state).toBe('finished');
  });
});
