import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_RUN_CONFIG } from '@oiafed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { joinHonest, RawClient, reportClass, ServeProcess } from './hostile-client.test-support.js';

// Issue #11: "defaults that keep a trainer with 1,000 learners under 1 GiB whatever they send".
// A real `oiafed serve` at its default budgets, an honest learner training, and as many hostile
// connections as it takes (maxConnections, 2,000), each holding as much as the defaults let it.

const TOKEN = 'sesame';
const MiB = 1024 * 1024;
const dir = await mkdtemp(join(tmpdir(), 'oiafed-scale-'));
const opened: RawClient[] = [];
afterAll(async () => {
  for (const client of opened) client.close();
  await rm(dir, { recursive: true, force: true });
});

/** Starts a message of `total` bytes by sending its first `sent` bytes, and never finishes it. */
function startMessage(client: RawClient, sent: Uint8Array): Promise<void> {
  return new Promise((resolve) => client.socket.send(sent, { binary: true, fin: false }, () => resolve()));
}

describe('1,000 hostile learners at the default budgets', () => {
  it('keep the trainer under 1 GiB, whatever they send, while an honest learner trains', async () => {
    const { credentials: _none, ...defaults } = DEFAULT_RUN_CONFIG.security;
    // A heartbeat and a hello timeout longer than the test: the attackers hold their messages open, never
    // pong, and the strangers never say hello.
    const serve = await ServeProcess.start(dir, 'scale', {
      token: TOKEN,
      heartbeat: { interval: 10_000, timeout: 60_000 },
      security: defaults,
      federation: { deadline: 2_000 },
      timeouts: { connect: 60_000 },
    });
    const honest = await joinHonest(serve.url, 'honest', TOKEN, {
      heartbeat: { interval: 10_000, timeout: 60_000 },
    });
    try {
      await serve.nextRound((r) => r.results >= 1, 0);
      const baseline = serve.resetPeak();

      // As many strangers as maxConnections leaves room for beside 1,000 learners and the honest
      // one (999), each most of a hello's worth into a message that never ends.
      const beforeHello = new Uint8Array(defaults.helloBytes - 4096);
      const strangers = await Promise.all(
        Array.from({ length: defaults.maxConnections - 1_001 }, () =>
          RawClient.connect(serve.url, { autoPong: false }),
        ),
      );
      opened.push(...strangers);
      await Promise.all(strangers.map((client) => startMessage(client, beforeHello)));

      // 1,000 learners with the token, each 1 MiB into a message announced as the largest a
      // server takes: 1,000 MiB wanted, twice the total budget for bytes still arriving.
      const joined = await Promise.all(
        Array.from({ length: 1_000 }, (_, i) =>
          RawClient.join(serve.url, `mallory-${i}`, TOKEN, { autoPong: false }),
        ),
      );
      const holders = joined.map((j) => j.client);
      opened.push(...holders);
      const megabyte = new Uint8Array(MiB);
      await Promise.all(holders.map((client) => startMessage(client, megabyte)));

      // The honest learner's next round ends after the trainer has read what it will read of the flood.
      const round = await serve.roundWithin(
        (r) => r.results >= 1 && !r.failures.has('honest'),
        3,
        'a round with the honest result',
        serve.lastRound(),
        60_000,
      );
      expect(round.results).toBeGreaterThanOrEqual(1);
      const { peak } = serve.memory();
      const closed = [...strangers, ...holders].filter((c) => c.isClosed).length;
      reportClass(
        '1000-learners-default-budgets',
        `${closed} of ${strangers.length + holders.length} closed, the rest held or paused`,
        peak,
        baseline,
      );
      expect(serve.alive).toBe(true);
      expect(peak).toBeLessThan(1024);
      expect(honest.drops).toEqual([]);
    } finally {
      honest.close();
      await serve.stop();
    }
  }, 120_000);
});
