import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../connect/join-in-memory.js';
import { Node } from '../rpc/node.js';
import { Federation } from './federation.js';
import type { FederationEvents } from './federation-events.js';
import { federationMaker, fixed } from './federation.test-support.js';
import { serveLearner } from './serve-learner.js';
import { zeroLinearWeights } from './linear-learner.test-support.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

type Started = FederationEvents['ROUND_STARTED'][0];

/** The events a progress display is fed by: learners joined of needed, results of a round's target. */
describe('the progress in federation events', () => {
  it('WAITING_FOR_LEARNERS counts learners as they join a wait, and says nothing when enough are there', async () => {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(trainer);
    const federation = new Federation({ node: trainer, rounds: 1 });
    const seen: FederationEvents['WAITING_FOR_LEARNERS'][0][] = [];
    federation.events.on('WAITING_FOR_LEARNERS', (info) => seen.push(info));
    const join = async (id: string, role = 'learner') => {
      const node = new Node({ id, role, heartbeat: false });
      nodes.push(node);
      serveLearner(node, fixed([1, 2, 3], 0, 10));
      await joinInMemory(trainer, node);
    };
    await join('learner-0');
    const waited = federation.waitForClients(3, 10_000);
    await join('observer-0', 'observer'); // not a learner: no change, no event
    await join('learner-1');
    await join('learner-2');
    expect(await waited).toEqual(['learner-0', 'learner-1', 'learner-2']);
    expect(seen).toEqual([
      { joined: 1, needed: 3 },
      { joined: 2, needed: 3 },
      { joined: 3, needed: 3 },
    ]);
    await federation.waitForClients(2, 10_000);
    expect(seen).toHaveLength(3);
  });

  it('ROUND_STARTED tells the results that close the round, and CLIENT_RESULT counts them', async () => {
    const { federation } = await federate(
      Array.from({ length: 10 }, (_, i) => fixed([i, 0, 0], 0, 10 + i)),
      {
        rounds: 2,
        minClients: 10,
        minResults: 3,
        selection: { fraction: 0.4 },
        overSelection: 1.5,
        initialWeights: zeroLinearWeights(),
      },
    );
    const started: Started[] = [];
    const counts = new Map<number, number[]>();
    federation.events.on('ROUND_STARTED', (info) => started.push(info));
    federation.events.on('CLIENT_RESULT', ({ round, results }) =>
      counts.set(round, [...(counts.get(round) ?? []), results]),
    );
    const result = await federation.start();
    // round(0.4 x 10) = 4 close a round; 4 x 1.5 = 6 are asked.
    expect(started.map((s) => [s.round, s.clients.length, s.target])).toEqual([
      [1, 6, 4],
      [2, 6, 4],
    ]);
    // Counted per round from 1, every accepted result (instant learners may all answer before the round closes).
    for (const summary of result.history) {
      expect(summary.results).toBeGreaterThanOrEqual(4);
      expect(counts.get(summary.round)).toEqual(Array.from({ length: summary.results }, (_, i) => i + 1));
    }
  });

  it("under FedBuff a version's target is the buffer", async () => {
    const { federation } = await federate(
      Array.from({ length: 4 }, (_, i) => fixed([i, 0, 0], 0, 10)),
      {
        rounds: 2,
        schedule: { name: 'fedbuff', concurrency: 4, buffer: 2 },
        initialWeights: zeroLinearWeights(),
      },
    );
    const started: Started[] = [];
    federation.events.on('ROUND_STARTED', (info) => started.push(info));
    await federation.start();
    expect(started).toEqual([
      { round: 1, clients: [], target: 2 },
      { round: 2, clients: [], target: 2 },
    ]);
  });
});
