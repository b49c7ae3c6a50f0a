import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { TrainerProcess } from './trainer-process.js';

const PAGE = 'http://127.0.0.1:5174/learner.html';
const data = { seed: '1', trainSize: '3000', testSize: '500', split: 'iid' };
const trainerArgs = ['--rounds', '4', '--train-size', data.trainSize, '--test-size', data.testSize, '--seed', data.seed, '--min-clients', '2', '--heartbeat', '1000'];

interface MemberLike {
  status: { state: string; round?: number };
  events: { on(event: 'status', listener: (s: { state: string; round?: number }) => void): void };
}

/**
 * Resolves once the tab's learner reports a status matching `states` (and `round`, if given):
 * the page's own status events, not a poll.
 */
function statusOf(page: Page, states: string[], round?: number): Promise<string> {
  return page.evaluate(
    ([states, round]) =>
      new Promise<string>((resolve) => {
        const member = (globalThis as unknown as { oiafed: MemberLike }).oiafed;
        const fits = (s: { state: string; round?: number }) => states.includes(s.state) && (round === undefined || s.round === round);
        if (fits(member.status)) return resolve(member.status.state);
        member.events.on('status', (s) => fits(s) && resolve(s.state));
      }),
    [states, round] as const,
  );
}

/** The page has joined (its member exists once registered). */
const joined = (page: Page) => page.waitForFunction(() => 'oiafed' in globalThis, undefined, { timeout: 120_000, polling: 'raf' });

test('a Node trainer and three learner tabs run FedAvg on MNIST; a tab closes mid-round; the trainer restarts and the tabs finish the run', async ({ browser }) => {
  const dir = mkdtempSync(join(tmpdir(), 'oiafed-e2e-'));
  const checkpoint = join(dir, 'checkpoint.bin');
  const first = new TrainerProcess([...trainerArgs, '--clients', '3', '--port', '0', '--checkpoint', checkpoint]);
  let second: TrainerProcess | undefined;
  try {
    const [, url] = await first.waitFor(/trainer listening on (ws:\/\/\S+);/);
    const context = await browser.newContext();
    const tabs: Page[] = [];
    for (let shard = 0; shard < 3; shard++) {
      const page = await context.newPage();
      page.on('pageerror', (e) => console.log(`tab ${shard}: ${e.message}`));
      await page.goto(`${PAGE}?${new URLSearchParams({ ...data, server: url!, shard: String(shard), of: '3', id: `tab-${shard}`, heartbeat: '1000' })}`);
      tabs.push(page);
    }
    await Promise.all(tabs.map(joined));

    // Round 1 with all three tabs; the global test accuracy is well above chance (0.1).
    const [, acc1] = await first.waitFor(/round +1\/4 +3\/3 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4);

    // Close tab 2 while it trains round 2: the round completes with the other two.
    await statusOf(tabs[2]!, ['training'], 2);
    const closedAt = Date.now();
    await tabs[2]!.close();
    await first.waitFor(/learner tab-2 disconnected/, 3_000); // within the heartbeat timeout (3 x 1000 ms)
    expect(Date.now() - closedAt).toBeLessThan(3_000);
    const [, acc2] = await first.waitFor(/round +2\/4 +2\/3 clients +1 failed .* test acc (\d\.\d+)/);
    expect(Number(acc2)).toBeGreaterThan(Number(acc1) - 0.05);

    // Restart the trainer after round 2: the two tabs reconnect and the run resumes from the checkpoint.
    first.interrupt();
    await first.waitFor(/done: 2 rounds .* \(stopped\)/);
    expect(await first.exited).toBe(0);
    expect(await statusOf(tabs[0]!, ['disconnected', 'reconnecting'])).toMatch(/disconnected|reconnecting/);
    second = new TrainerProcess([...trainerArgs, '--clients', '2', '--port', new URL(url!).port, '--checkpoint', checkpoint]);
    await second.waitFor(/resuming from the checkpoint of round 2/);
    await second.waitFor(/learner tab-0 joined/, 60_000);
    await second.waitFor(/learner tab-1 joined/, 60_000);
    const [, finalAcc] = await second.waitFor(/done: 4 rounds .* \(completed\); final test accuracy (\d\.\d+)/);
    expect(Number(finalAcc)).toBeGreaterThan(0.6);
    expect(await second.exited).toBe(0);
    // The trainer is gone again: the tabs notice, and keep trying.
    for (const tab of tabs.slice(0, 2)) expect(await statusOf(tab, ['disconnected', 'reconnecting'])).toBeTruthy();
    await context.close();
  } finally {
    first.kill();
    second?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
