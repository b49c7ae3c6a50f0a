import { expect, test, type Page } from '@playwright/test';
import { PAGES } from './learner-page.js';

interface RunOutcome {
  rounds: number;
  reason: string;
  accuracies: number[];
  learners: number;
}

/** Waits for the page's run (globalThis.oiafedSimulation, set once its learners joined) to end. */
async function outcomeOf(page: Page): Promise<RunOutcome> {
  await page.waitForFunction(() => 'oiafedSimulation' in globalThis, undefined, { timeout: 60_000 });
  return page.evaluate(async () => {
    interface Simulation {
      done: Promise<{ rounds: number; reason: string; history: { evalMetrics: { accuracy?: number } }[] }>;
      federation: { clients(): string[] };
    }
    const simulation = (globalThis as unknown as { oiafedSimulation: Simulation }).oiafedSimulation;
    const learners = simulation.federation.clients().length;
    const result = await simulation.done;
    return {
      rounds: result.rounds,
      reason: result.reason,
      accuracies: result.history.map((r) => r.evalMetrics.accuracy ?? 0),
      learners,
    };
  });
}

for (const where of ['memory', 'workers'] as const) {
  test(`the one-tab page trains 100 learners in ${where === 'memory' ? "the tab's memory" : 'Web Workers'} for 3 rounds, and the test accuracy rises`, async ({
    page,
  }) => {
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const query = new URLSearchParams({
      learners: '100',
      where,
      rounds: '3',
      strategy: 'fedavg',
      split: 'iid',
      trainSize: '8000',
      testSize: '1000',
      workers: '2',
      autostart: '',
    });
    await page.goto(`${PAGES}/simulate.html?${query}`);
    const outcome = await outcomeOf(page);
    expect(outcome).toMatchObject({ rounds: 3, reason: 'completed', learners: 100 });
    expect(outcome.accuracies).toHaveLength(3);
    expect(outcome.accuracies[2]!).toBeGreaterThan(outcome.accuracies[0]!);
    console.log(
      `${where}: test accuracy per round ${outcome.accuracies.map((a) => a.toFixed(3)).join(', ')}`,
    );
    await expect(page.locator('#state')).toHaveText('done: completed');
    // The same dashboard as `oiafed serve`'s, fed by the federation in the tab.
    await expect(page.locator('.oiafed-chart')).toHaveAttribute('data-points', '3');
    await expect(page.locator('.oiafed-learners tbody tr')).toHaveCount(20);
    await expect(page.locator('.oiafed-learners tfoot')).toContainText('(100 in all)');
    await page.screenshot({ path: `artifacts/simulate-${where}.png`, fullPage: true });
    expect(errors).toEqual([]);
  });
}
