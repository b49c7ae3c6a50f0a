// The demo's learners under aggregators (`--aggregators K`), in each Node mode: the same run as flat.
// WebRTC needs the network namespace: sh scripts/netns-run.sh pnpm exec vitest run --project node <this file>
import { maxAbsDiff } from '@oiafed/core';
import { describe, expect, it } from 'vitest';
import { aggregatorsProblem, shareOf } from './aggregators.js';
import { DEFAULT_DEMO, runDemo, type DemoOptions } from './simulate.js';

const small: DemoOptions = { ...DEFAULT_DEMO, clients: 5, trainSize: 1_200, testSize: 500, rounds: 2 };

/** Every learner's training result, by round: which aggregator's round it came in is the hooks' to say. */
async function underAggregators(options: DemoOptions) {
  const joined: string[] = [];
  const homes: string[] = [];
  const result = await runDemo(options, {
    onLearner: (id, event) => event === 'joined' && joined.push(id),
    onListening: (_address, _page, home) => homes.push(`${home.id} ${home.first}+${home.count}`),
  });
  return { result, joined, homes };
}

describe('the demo under aggregators (--aggregators K)', () => {
  it('splits the learners over the aggregators in contiguous blocks that cover them once', () => {
    const blocks = [0, 1, 2].map((k) => shareOf(5, 3, k));
    expect(blocks).toEqual([
      { first: 0, count: 1 },
      { first: 1, count: 2 },
      { first: 3, count: 2 },
    ]);
    expect(aggregatorsProblem({ ...small, aggregators: 6 })).toMatch(/from 1 to clients \(5\)/);
    expect(aggregatorsProblem({ ...small, aggregators: 2, async: true })).toMatch(/synchronous/);
    expect(aggregatorsProblem({ ...small, aggregators: 2 })).toBeUndefined();
  });

  it("learners in memory and in worker threads under 2 aggregators: FedAvg ends at the flat run's model within 1e-5", async () => {
    const flat = await runDemo(small);
    for (const mode of ['memory', 'worker'] as const) {
      const { result, joined } = await underAggregators({ ...small, mode, workers: 1, aggregators: 2 });
      expect(result.reason).toBe('completed');
      // The trainer's learners are the 2 aggregators; every one of the 5 learners trained under one.
      expect(result.history.map((r) => [...r.clients].sort())).toEqual([
        ['aggregator-0', 'aggregator-1'],
        ['aggregator-0', 'aggregator-1'],
      ]);
      expect(joined.sort()).toEqual(['learner-0', 'learner-1', 'learner-2', 'learner-3', 'learner-4']);
      expect(result.history.map((r) => r.numExamples)).toEqual(flat.history.map((r) => r.numExamples));
      expect(maxAbsDiff(result.weights, flat.weights)).toBeLessThanOrEqual(1e-5);
      expect(result.finalAccuracy).toBeCloseTo(flat.finalAccuracy, 3);
    }
    // Two worker pools (one thread each) load tfjs and the MNIST slice: tens of seconds on a loaded 2-core machine.
  }, 120_000);

  it("learners over WebSocket and over WebRTC data channels (in this process) under 2 aggregators: the flat run's model within 1e-5", async () => {
    const flat = await runDemo(small);
    for (const mode of ['websocket', 'webrtc'] as const) {
      const { result, homes } = await underAggregators({
        ...small,
        mode,
        port: 0,
        nodeLearners: true,
        aggregators: 2,
      });
      // Each aggregator serves its own block: a WebSocket server each, or a peer each at one signalling server.
      expect(homes).toEqual(['aggregator-0 0+2', 'aggregator-1 2+3']);
      expect(result.history.map((r) => r.results)).toEqual([2, 2]);
      expect(maxAbsDiff(result.weights, flat.weights)).toBeLessThanOrEqual(1e-5);
    }
  }, 120_000);
});
