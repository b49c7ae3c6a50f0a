import { Federation, joinInMemory, Node } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import type { DashboardUpdate } from './feed.js';
import { localFeed } from './local-feed.js';

const nodes: Node[] = [];
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

async function run(rounds: number): Promise<Federation> {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  nodes.push(trainer);
  for (let i = 0; i < 3; i++) {
    const learner = new Node({ id: `learner-${i}`, role: 'learner', heartbeat: false });
    nodes.push(learner);
    learner.serve(linearLearner(i));
    await joinInMemory(trainer, learner);
  }
  return new Federation({ node: trainer, rounds, minClients: 3 });
}

describe('localFeed', () => {
  it("feeds a dashboard from a Federation in this realm: a snapshot, then each round's point once, and controls without a token", async () => {
    const federation = await run(4);
    const feed = localFeed(federation, { rows: 2 });
    const first = await feed.snapshot();
    expect(first).toMatchObject({
      state: 'idle',
      round: 0,
      rounds: 4,
      points: [],
      learners: { connected: 3 },
    });
    expect(first.clients).toHaveLength(2);
    const seen: DashboardUpdate[] = [];
    const finished = withTimeout(
      new Promise<void>((resolve) =>
        feed.onUpdate((u) => {
          seen.push(u);
          if (u.telemetry.state === 'finished') resolve();
        }),
      ),
      10_000,
      'no update of the finished run',
    );
    const controls = feed.controls!;
    expect(controls.needsToken).toBe(false);
    expect(await controls.send('pause')).toBe('paused');
    const result = federation.start();
    expect(await controls.send('resume')).toBe('running');
    await result;
    await finished;
    // Every round's point arrived once, in order, over the updates.
    expect(seen.flatMap((u) => u.telemetry.points.map((p) => p.round))).toEqual([1, 2, 3, 4]);
    expect(seen.every((u) => !u.full)).toBe(true);
    feed.close();
    expect(await controls.send('stop')).toBe('finished');
  });
});
