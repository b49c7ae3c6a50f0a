// Chromium tabs as the leaves of aggregators: the demo trainer with --aggregators 2 serves a
// WebSocket server per aggregator, and each tab joins the aggregator of its shard.
import { expect, test, type Page } from '@playwright/test';
import { joinedTabs, statusOf } from './learner-page.js';
import { demoData, demoTrainerArgs, TrainerProcess } from './trainer-process.js';

const data = demoData();
const TABS = 3;

/** What the tab's learner gets calling `method` on `target` through its own node: 'answered' or the error code. */
function callFrom(tab: Page, target: string, method: string): Promise<string> {
  return tab.evaluate(
    async ([target, method]) => {
      const member = (
        globalThis as unknown as {
          oiafed: { node: { call(t: string, m: string, a: unknown[], o: object): Promise<unknown> } };
        }
      ).oiafed;
      const params = { round: 1, weights: {}, config: {} };
      return member.node.call(target, method, [params], { timeout: 10_000 }).then(
        () => 'answered',
        (e: unknown) => {
          const { code, remoteCode } = e as { code: string; remoteCode?: string };
          return remoteCode ?? code;
        },
      );
    },
    [target, method] as const,
  );
}

test('three learner tabs under two aggregators (WebSocket) run FedAvg on MNIST to the end; a tab reaches neither the trainer nor its siblings', async ({
  browser,
}) => {
  const trainer = new TrainerProcess(
    demoTrainerArgs(data, ['--rounds', '3', '--clients', String(TABS), '--aggregators', '2']),
  );
  try {
    // Aggregator-0 serves learner 0, aggregator-1 learners 1 and 2, each on a port of its own.
    const urls = await Promise.all(
      [0, 1].map(async (k) => {
        const [, url, first, last] = await trainer.waitFor(
          new RegExp(
            `aggregator-${k} listening on (ws://[^\\s;]+); waiting for \\d+ learners \\(learners (\\d+) to (\\d+)\\)`,
          ),
        );
        return { url: url!, first: Number(first), last: Number(last) };
      }),
    );
    expect(urls.map(({ first, last }) => [first, last])).toEqual([
      [0, 0],
      [1, 2],
    ]);
    const homeOf = (shard: number) => urls.find((u) => shard >= u.first && shard <= u.last)!.url;
    const { context, tabs } = await joinedTabs(browser, TABS, (shard) => ({
      ...data,
      server: homeOf(shard),
      heartbeat: '1000',
    }));
    for (let shard = 0; shard < TABS; shard++)
      await trainer.waitFor(new RegExp(`learner tab-${shard} joined`));

    // Tab 1 (at aggregator-1, beside tab 2): its aggregator serves it no learner methods, and the
    // router passes nothing on to the trainer, its sibling, or the other aggregator and its tab.
    expect(await callFrom(tabs[1]!, 'aggregator-1', 'train')).toBe('METHOD_NOT_FOUND');
    for (const target of ['trainer', 'tab-2', 'aggregator-0', 'tab-0'])
      expect(`${target}: ${await callFrom(tabs[1]!, target, 'train')}`).toBe(`${target}: UNKNOWN_TARGET`);

    // The trainer's rounds have the two aggregators as their learners; the global model learns.
    const [, acc1] = await trainer.waitFor(/round +1\/3 +2\/2 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4); // chance is 0.1
    const [, finalAcc] = await trainer.waitFor(
      /done: 3 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(Number(acc1));
    expect(await trainer.exited).toBe(0);
    // The run's end reaches every tab through its aggregator.
    for (const tab of tabs) {
      expect(await statusOf(tab, ['finished'])).toBe('finished');
      await expect(tab.locator('#state')).toHaveText('finished (completed, 3 rounds)');
    }
    await context.close();
  } finally {
    trainer.kill();
  }
});
