// Chromium tabs as the leaves of aggregators: the demo trainer with --aggregators 2 serves a
// WebSocket server per aggregator, and each tab joins the aggregator of its shard.
import { expect, test, type Page } from '@playwright/test';
import { joinedTabs, PAGES, statusOf } from './learner-page.js';
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

/** The one-tab simulation's run, in Web Workers: its learners' count at the trainer, and its final model. */
async function simulated(page: Page, aggregators: number) {
  const query = new URLSearchParams({
    learners: '10',
    where: 'workers',
    rounds: '2',
    strategy: 'fedavg',
    split: 'iid',
    trainSize: '2000',
    testSize: '500',
    workers: '1',
    ...(aggregators ? { aggregators: String(aggregators) } : {}),
    autostart: '',
  });
  page.on('pageerror', (e) => console.log(`simulate tab: ${e.message}`));
  await page.goto(`${PAGES}/simulate.html?${query}`);
  await page.waitForFunction(() => 'oiafedSimulation' in globalThis, undefined, { timeout: 60_000 });
  return page.evaluate(async () => {
    interface Simulation {
      done: Promise<{
        reason: string;
        history: { results: number }[];
        weights: Record<string, { data: Float32Array }>;
      }>;
      federation: { clients(): string[] };
    }
    const simulation = (globalThis as unknown as { oiafedSimulation: Simulation }).oiafedSimulation;
    const clients = simulation.federation.clients().sort();
    const result = await simulation.done;
    return {
      clients,
      reason: result.reason,
      results: result.history.map((r) => r.results),
      weights: Object.fromEntries(
        Object.entries(result.weights).map(([name, t]) => [name, Array.from(t.data)]),
      ),
    };
  });
}

test("ten learners in Web Workers under two aggregators in one tab: FedAvg ends at the flat run's model within 1e-5", async ({
  page,
}) => {
  const flat = await simulated(page, 0);
  const hier = await simulated(page, 2);
  expect(flat).toMatchObject({ reason: 'completed', results: [10, 10] });
  // The trainer's learners are the two aggregators; each ran its rounds over its 5 learners (in a Web Worker).
  expect(hier).toMatchObject({
    reason: 'completed',
    results: [2, 2],
    clients: ['aggregator-0', 'aggregator-1'],
  });
  let diff = 0;
  for (const [name, values] of Object.entries(flat.weights))
    values.forEach((v, i) => (diff = Math.max(diff, Math.abs(v - hier.weights[name]![i]!))));
  expect(Object.keys(hier.weights)).toEqual(Object.keys(flat.weights));
  expect(diff).toBeLessThanOrEqual(1e-5);
});

test('two learner tabs under two aggregators over WebRTC data channels run FedAvg on MNIST to the end; a tab reaches neither the trainer nor the other tab', async ({
  browser,
}) => {
  const trainer = new TrainerProcess(
    demoTrainerArgs(data, ['--rounds', '2', '--clients', '2', '--aggregators', '2']),
    'webrtc',
  );
  try {
    // One signalling server; the aggregators are its peers aggregator-0 and aggregator-1.
    const [, signalling] = await trainer.waitFor(
      /aggregator-1 listening on (http:\/\/\S+) \(WebRTC signalling; trainer peer aggregator-1\)/,
    );
    const { context, tabs } = await joinedTabs(browser, 2, (shard) => ({
      ...data,
      transport: 'webrtc',
      signalling: signalling!,
      trainer: `aggregator-${shard}`,
      heartbeat: '1000',
    }));
    expect(await callFrom(tabs[0]!, 'aggregator-0', 'train')).toBe('METHOD_NOT_FOUND');
    for (const target of ['trainer', 'aggregator-1', 'tab-1'])
      expect(`${target}: ${await callFrom(tabs[0]!, target, 'train')}`).toBe(`${target}: UNKNOWN_TARGET`);
    const [, finalAcc] = await trainer.waitFor(
      /done: 2 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(0.4); // chance is 0.1
    expect(trainer.lines.filter((l) => /round +\d\/2 +2\/2 clients/.test(l))).toHaveLength(2);
    for (const tab of tabs) expect(await statusOf(tab, ['finished'])).toBe('finished');
    expect(await trainer.exited).toBe(0);
    await context.close();
  } finally {
    trainer.kill();
  }
});
