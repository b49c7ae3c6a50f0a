import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { closeWhileTraining, joinedTabs, statusOf } from './learner-page.js';
import { demoData, demoTrainerArgs, TrainerProcess } from './trainer-process.js';

const data = demoData();
const trainerArgs = (more: string[]) =>
  demoTrainerArgs(data, ['--rounds', '4', '--min-clients', '2', ...more]);

test('a Node trainer and three learner tabs run FedAvg on MNIST; a tab closes mid-round; the trainer restarts and the tabs finish the run, then hear it completed', async ({
  browser,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'oiafed-e2e-'));
  const checkpoint = join(dir, 'checkpoint.bin');
  const first = new TrainerProcess(trainerArgs(['--clients', '3', '--checkpoint', checkpoint]));
  let second: TrainerProcess | undefined;
  try {
    const url = await first.listening();
    const { context, tabs } = await joinedTabs(browser, 3, () => ({
      ...data,
      server: url,
      heartbeat: '1000',
    }));

    // Round 1 with all three tabs; the global test accuracy is well above chance (0.1).
    const [, acc1] = await first.waitFor(/round +1\/4 +3\/3 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4);

    // Close tab 2 while it trains round 2: the round completes with the other two.
    // Seen within the heartbeat timeout (3 x 1000 ms).
    await first.sawDisconnect('tab-2', await closeWhileTraining(tabs[2]!, 2), 3_000);
    const [, acc2] = await first.waitFor(/round +2\/4 +2\/3 clients +1 failed .* test acc (\d\.\d+)/);
    expect(Number(acc2)).toBeGreaterThan(Number(acc1) - 0.05);

    // Restart the trainer after round 2: the two tabs reconnect and the run resumes from the checkpoint.
    first.interrupt();
    await first.waitFor(/done: 2 rounds .* \(stopped\)/);
    expect(await first.exited).toBe(0);
    expect(await statusOf(tabs[0]!, ['disconnected', 'reconnecting'])).toMatch(/disconnected|reconnecting/);
    second = new TrainerProcess(
      trainerArgs(['--clients', '2', '--port', new URL(url).port, '--checkpoint', checkpoint]),
    );
    await second.waitFor(/resuming from the checkpoint of round 2/);
    await second.waitFor(/learner tab-0 joined/, 60_000);
    await second.waitFor(/learner tab-1 joined/, 60_000);
    const [, finalAcc] = await second.waitFor(
      /done: 4 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(0.6);
    expect(await second.exited).toBe(0);
    // The run is over: the tabs are told, show it, and stop trying.
    for (const tab of tabs.slice(0, 2)) {
      expect(await statusOf(tab, ['finished'])).toBe('finished');
      await expect(tab.locator('#state')).toHaveText('finished (completed, 4 rounds)');
      expect(
        await tab.evaluate(
          () => (globalThis as unknown as { oiafed: { uplink: { status: string } } }).oiafed.uplink.status,
        ),
      ).toBe('closed');
    }
    await context.close();
  } finally {
    first.kill();
    second?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
