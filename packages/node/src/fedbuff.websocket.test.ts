import {
  Federation,
  Node,
  type ClientFailure,
  type FederationMember,
  type Learner,
  type NodeId,
  type RoundSummary,
} from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { linearLearner, slowedBy } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { serveWebSocket } from './web-socket-server.js';

// Issue #13: FedBuff over a real ws server with Node learners of 10x different speeds, one leaving
// mid-training and one joining later. The learners' timers stand for their devices' speeds; the
// test itself waits on the federation's events and the learners' promises only.

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** ms a training takes on a fast device; the slow device takes 10 times as long. */
const FAST = 5;
const SLOW = 10 * FAST;
const VERSIONS = 60;

/**
 * A fast learner switched off during its `nth` training: that training never answers, and `reached`
 * resolves once it is under way at the learner.
 */
function leavingLearner(index: number, nth: number): { learner: Learner; reached: Promise<void> } {
  const inner = slowedBy(linearLearner(index), FAST);
  let calls = 0;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const learner: Learner = {
    ...inner,
    train: (params) => {
      calls += 1;
      if (calls < nth) return inner.train(params);
      reach();
      return new Promise<never>(() => undefined);
    },
  };
  return { learner, reached };
}

/** The versions (rounds) whose model `client`'s results were folded into. */
const versionsOf = (history: readonly RoundSummary[], client: NodeId) =>
  history.filter((s) => s.clients.includes(client)).map((s) => s.round);

describe('FedBuff over WebSocket (Node learners)', () => {
  it('completes every version with learners 10x apart in speed, one leaving mid-training (a failure at once) and one joining later (counted in later versions); fast learners count in more versions than the slow one', async () => {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    cleanup.push(() => trainer.close());
    const server = await serveWebSocket(trainer);
    cleanup.push(() => server.close());
    const join = async (id: string, learner: Learner): Promise<FederationMember> => {
      const member = await joinFederation({ url: server.url, id, learner, heartbeat: false });
      cleanup.push(() => member.close());
      return member;
    };
    const leaver = leavingLearner(3, 3);
    await join('fast-a', slowedBy(linearLearner(0), FAST));
    await join('fast-b', slowedBy(linearLearner(1), FAST));
    await join('slow', slowedBy(linearLearner(2), SLOW));
    const leaving = await join('leaver', leaver.learner);

    // No deadline: the leaver's training can only end through its leaving. maxStaleness as large
    // as the run: the slow learner's results are weighed down, never dropped.
    const federation = new Federation({
      node: trainer,
      rounds: VERSIONS,
      minClients: 3,
      seed: 3,
      config: { lr: 0.05 },
      schedule: { name: 'fedbuff', concurrency: 4, buffer: 2, maxStaleness: VERSIONS },
    });
    const leaverFailed = new Promise<ClientFailure>((resolve) =>
      federation.events.on('CLIENT_FAILED', (f) => f.client === 'leaver' && resolve(f)),
    );
    const run = federation.start();

    await withTimeout(leaver.reached, 10_000, 'the leaver was never asked a third time');
    leaving.close();
    expect(
      await withTimeout(leaverFailed, 5_000, "the leaver's training did not end when it left"),
    ).toMatchObject({ client: 'leaver', code: 'DISCONNECTED' });

    // Held between two versions while the late learner's WebSocket join completes (the learners
    // under way keep training meanwhile), so the run cannot end before the late learner is in.
    const pausedAfter = withTimeout(
      new Promise<number>((resolve) =>
        federation.events.once('ROUND_FINISHED', (s) => {
          federation.pause();
          resolve(s.round);
        }),
      ),
      10_000,
      'no version after the leaver left',
    );
    const joinedAfter = await pausedAfter;
    await join('late', slowedBy(linearLearner(4), FAST));
    federation.resume();
    const result = await withTimeout(run, 60_000, 'the run did not complete');

    expect(result).toMatchObject({ reason: 'completed', rounds: VERSIONS });
    const { history } = result;
    expect(history.map((s) => s.round)).toEqual(Array.from({ length: VERSIONS }, (_, i) => i + 1));
    expect(history.every((s) => s.results === 2 && s.stale === 0)).toBe(true);
    expect(joinedAfter).toBeLessThan(VERSIONS);

    // The leaver's training under way was reported with a version, and nothing of it counted after.
    const reportedIn = history.find((s) => s.failures.some((f) => f.client === 'leaver'));
    expect(reportedIn?.failures).toContainEqual(
      expect.objectContaining({ client: 'leaver', code: 'DISCONNECTED' }),
    );
    expect(versionsOf(history, 'leaver').every((v) => v <= reportedIn!.round)).toBe(true);

    // The late learner trained for versions after it joined.
    const late = versionsOf(history, 'late');
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((v) => v > joinedAfter)).toBe(true);

    // Asked again as each answers, a fast learner is folded in more often than the slow one, which still counts.
    const slow = versionsOf(history, 'slow').length;
    expect(slow).toBeGreaterThan(0);
    for (const fast of ['fast-a', 'fast-b']) expect(versionsOf(history, fast).length).toBeGreaterThan(slow);
  });
});
