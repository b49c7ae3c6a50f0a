import { expect, test } from '@playwright/test';
import { closeWhileTraining, joinedTabs, statusOf } from './learner-page.js';
import { demoData, demoTrainerArgs, TrainerProcess } from './trainer-process.js';

const data = demoData('2000');

test('secure aggregation over four learner tabs: a tab closed after its keys and shares, before its masked input, is unmasked from its neighbours; the round completes with three results and the run goes on', async ({
  browser,
}) => {
  const trainer = new TrainerProcess(
    demoTrainerArgs(data, ['--secure', '--rounds', '3', '--clients', '4', '--min-clients', '2']),
  );
  try {
    await trainer.waitFor(/secure aggregation/);
    const url = await trainer.listening();
    const { context, tabs } = await joinedTabs(browser, 4, () => ({
      ...data,
      server: url,
      heartbeat: '1000',
    }));

    // Round 1 with all four: SecAgg+ unmasks the sum, and the model learns from it.
    const [, acc1] = await trainer.waitFor(/round +1\/3 +4\/4 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4);

    // A learner trains only when asked for its masked input, after it advertised its keys and sent
    // its sealed shares: close tab 3 while it trains round 2, so its masked input never arrives.
    // Seen within the heartbeat timeout (3 x 1000 ms).
    await trainer.sawDisconnect('tab-3', await closeWhileTraining(tabs[3]!, 2), 3_000);
    // Its neighbours (three, the threshold is two) reveal its mask key: the round's sum is the other
    // three's, and the model still improves.
    const [, acc2] = await trainer.waitFor(/round +2\/3 +3\/4 clients +1 failed .* test acc (\d\.\d+)/);
    expect(Number(acc2)).toBeGreaterThan(Number(acc1) - 0.05);

    // The run goes on with the three tabs left, to the end.
    await trainer.waitFor(/round +3\/3 +3\/3 clients /);
    const [, finalAcc] = await trainer.waitFor(
      /done: 3 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(0.6);
    expect(await trainer.exited).toBe(0);
    for (const tab of tabs.slice(0, 3)) expect(await statusOf(tab, ['finished'])).toBe('finished');
    await context.close();
  } finally {
    trainer.kill();
  }
});
