import { createServer } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { Node } from '@oiafed/core';
import { serveWebSocket } from '@oiafed/node';
import { PAGES } from './learner-page.js';

/** A port nothing listens on: one the system just gave out and took back. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Seen {
  state: string;
  at: number;
}

/**
 * Opens the learner page for `server` with `joinTimeout`, recording every status it reports
 * ('oiafed:status' events, from before its script runs), and resolves with them once it says
 * 'failed': the page's own event, not a poll.
 */
async function learnerUntilFailed(page: Page, server: string, joinTimeout: number): Promise<Seen[]> {
  await page.addInitScript(() => {
    const seen: { state: string; at: number }[] = [];
    Object.assign(globalThis, { oiafedSeen: seen });
    addEventListener('oiafed:status', (event) =>
      seen.push({ state: (event as CustomEvent<{ state: string }>).detail.state, at: performance.now() }),
    );
  });
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  const query = new URLSearchParams({
    server,
    joinTimeout: String(joinTimeout),
    shard: '0',
    of: '1',
    trainSize: '500',
    testSize: '100',
    id: 'tab-0',
  });
  await page.goto(`${PAGES}/learner.html?${query}`);
  return page.evaluate(
    () =>
      new Promise<Seen[]>((resolve) => {
        const page = globalThis as unknown as { oiafedSeen: Seen[]; oiafedJoinStarted: number };
        const seen = page.oiafedSeen;
        // The join's start (the page notes it just before joinFederation), then what it reported.
        const done = () =>
          seen.at(-1)?.state === 'failed' &&
          (resolve([{ state: 'join', at: page.oiafedJoinStarted }, ...seen]), true);
        if (!done()) addEventListener('oiafed:status', () => queueMicrotask(done));
      }),
  );
}

/**
 * connecting first, failed last, and between them only connecting; failed once the join's bound
 * has passed since it began (`seen[0]`), and not long after.
 */
function expectFailedWithin(seen: Seen[], joinTimeout: number): void {
  const [began, ...statuses] = seen;
  expect(statuses[0]!.state).toBe('connecting');
  expect(statuses.at(-1)!.state).toBe('failed');
  expect(new Set(statuses.slice(0, -1).map((s) => s.state))).toEqual(new Set(['connecting']));
  const took = statuses.at(-1)!.at - began!.at;
  expect(took).toBeGreaterThanOrEqual(joinTimeout);
  expect(took).toBeLessThan(joinTimeout + 3_000);
}

test('a learner page that joins a closed port shows failed after its joinTimeout, with the cause row', async ({
  page,
}) => {
  const joinTimeout = 1_500;
  const seen = await learnerUntilFailed(page, `ws://127.0.0.1:${await closedPort()}`, joinTimeout);
  expectFailedWithin(seen, joinTimeout);
  await expect(page.locator('#state')).toHaveAttribute('data-state', 'failed');
  const cause = page.locator('#cause');
  await expect(cause).toHaveAttribute('data-failure', 'closed');
  // A browser hides the cause (refused, DNS, TLS, HTTP status) from the page: the row says so, and where to look.
  await expect(cause).toContainText(/closed, out of time, \d+ attempts: no connection within 1500 ms/);
  await expect(cause).toContainText('the browser does not tell a page why');
});

test('a learner page whose origin the server refuses (HTTP 403) fails the same way: the browser does not say 403', async ({
  page,
}) => {
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  const server = await serveWebSocket(trainer, { origins: ['https://somewhere.else'] });
  try {
    const joinTimeout = 1_500;
    const seen = await learnerUntilFailed(page, server.url, joinTimeout);
    expectFailedWithin(seen, joinTimeout);
    await expect(page.locator('#cause')).toContainText('an HTTP status such as 403 for its Origin');
    expect(trainer.registry.connected()).toEqual([]);
  } finally {
    await server.close();
    trainer.close();
  }
});
