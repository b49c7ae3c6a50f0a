import { Federation, Node, type ClientFailure, type NodeId, type RoundSummary } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { withTimeout } from '../../core/src/test-support.js';
import { spawnLearners } from './spawn-learners.js';

// Issue #13: FedBuff in a Chromium tab, the trainer in the tab and its learners in Web Workers of
// 10x different speeds (the workers' timers stand for the devices' speeds; the test waits on the
// federation's events only).

const linearWorker = () =>
  new Worker(new URL('./fixtures/linear-learner.worker.ts', import.meta.url), { type: 'module' });
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** ms a training takes on a fast device; the slow device takes 10 times as long. */
const FAST = 5;
const SLOW = 10 * FAST;
const VERSIONS = 40;

/** The versions (rounds) whose model `client`'s results were folded into. */
const versionsOf = (history: readonly RoundSummary[], client: NodeId) =>
  history.filter((s) => s.clients.includes(client)).map((s) => s.round);

describe('FedBuff in a Chromium tab', () => {
  it('learners in Web Workers 10x apart in speed: every version completes, a worker terminated mid-training fails at once, a learner spawned later counts in later versions, fast learners count in more versions than the slow one', async () => {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    cleanup.push(() => trainer.close());
    // learner-3 never answers: its worker is terminated while it trains.
    const learners = await spawnLearners({
      trainer,
      count: 4,
      workers: 4,
      createWorker: linearWorker,
      data: { trainDelayMs: [FAST, FAST, SLOW], hangIndex: 3 },
    });
    cleanup.push(() => learners.terminate());
    // No deadline: learner-3's training can only end through its worker's end. minClients 3: every
    // version waits for that many learners, and three are left once learner-3 is gone.
    const federation = new Federation({
      node: trainer,
      rounds: VERSIONS,
      minClients: 3,
      seed: 3,
      config: { lr: 0.05 },
      schedule: { name: 'fedbuff', concurrency: 4, buffer: 2, maxStaleness: VERSIONS },
    });
    const failed = new Promise<ClientFailure>((resolve) =>
      federation.events.on('CLIENT_FAILED', (f) => f.client === 'learner-3' && resolve(f)),
    );
    // Every learner is asked at the start (concurrency 4): by the first version, learner-3's training is under way.
    federation.events.once('ROUND_FINISHED', () => void learners.terminate(3));
    const run = federation.start();
    expect(
      await withTimeout(failed, 5_000, "learner-3's training did not end with its worker"),
    ).toMatchObject({ code: 'DISCONNECTED' });

    // Held between two versions while a worker for the late learner starts, so the run cannot end before it is in.
    const joinedAfter = await withTimeout(
      new Promise<number>((resolve) =>
        federation.events.once('ROUND_FINISHED', (s) => {
          federation.pause();
          resolve(s.round);
        }),
      ),
      10_000,
      'no version after learner-3 left',
    );
    const late = await spawnLearners({
      trainer,
      count: 1,
      idPrefix: 'late',
      createWorker: linearWorker,
      data: { trainDelayMs: [FAST] },
    });
    cleanup.push(() => late.terminate());
    federation.resume();
    const result = await withTimeout(run, 60_000, 'the run did not complete');

    expect(result).toMatchObject({ reason: 'completed', rounds: VERSIONS });
    const { history } = result;
    expect(history.map((s) => s.round)).toEqual(Array.from({ length: VERSIONS }, (_, i) => i + 1));
    expect(history.every((s) => s.results === 2 && s.stale === 0)).toBe(true);
    expect(joinedAfter).toBeLessThan(VERSIONS);
    expect(history.flatMap((s) => s.failures)).toContainEqual(
      expect.objectContaining({ client: 'learner-3', code: 'DISCONNECTED' }),
    );
    expect(versionsOf(history, 'learner-3')).toEqual([]);
    const lateVersions = versionsOf(history, 'late-0');
    expect(lateVersions.length).toBeGreaterThan(0);
    expect(lateVersions.every((v) => v > joinedAfter)).toBe(true);
    const slow = versionsOf(history, 'learner-2').length;
    expect(slow).toBeGreaterThan(0);
    for (const fast of ['learner-0', 'learner-1'])
      expect(versionsOf(history, fast).length).toBeGreaterThan(slow);
  });
});
