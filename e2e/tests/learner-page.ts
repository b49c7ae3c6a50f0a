import type { Browser, BrowserContext, Page } from '@playwright/test';

/** The demo's pages, on the Vite dev server Playwright starts (playwright.config.ts). */
export const PAGES = 'http://127.0.0.1:5174';

interface MemberLike {
  status: { state: string; round?: number };
  events: { on(event: 'status', listener: (s: { state: string; round?: number }) => void): void };
}

/**
 * Resolves once the tab's learner reports a status matching `states` (and `round`, if given):
 * the page's own status events, not a poll.
 */
export function statusOf(page: Page, states: string[], round?: number): Promise<string> {
  return page.evaluate(
    ([states, round]) =>
      new Promise<string>((resolve) => {
        const member = (globalThis as unknown as { oiafed: MemberLike }).oiafed;
        const fits = (s: { state: string; round?: number }) =>
          states.includes(s.state) && (round === undefined || s.round === round);
        if (fits(member.status)) return resolve(member.status.state);
        member.events.on('status', (s) => fits(s) && resolve(s.state));
      }),
    [states, round] as const,
  );
}

/** The page has joined (its member exists once registered). */
export const joined = (page: Page) =>
  page.waitForFunction(() => 'oiafed' in globalThis, undefined, { timeout: 120_000, polling: 'raf' });

/** Opens one learner tab per shard, `query(shard)` naming the trainer, and resolves once all have joined. */
export async function openLearnerTabs(
  context: BrowserContext,
  count: number,
  query: (shard: number) => Record<string, string>,
): Promise<Page[]> {
  const tabs: Page[] = [];
  for (let shard = 0; shard < count; shard++) {
    const page = await context.newPage();
    page.on('pageerror', (e) => console.log(`tab ${shard}: ${e.message}`));
    await page.goto(
      `${PAGES}/learner.html?${new URLSearchParams({ shard: String(shard), of: String(count), id: `tab-${shard}`, ...query(shard) })}`,
    );
    tabs.push(page);
  }
  await Promise.all(tabs.map(joined));
  return tabs;
}

/** Closes `tab` while its learner trains round `round`; resolves with the time it closed. */
export async function closeWhileTraining(tab: Page, round: number): Promise<number> {
  await statusOf(tab, ['training'], round);
  const closedAt = Date.now();
  await tab.close();
  return closedAt;
}

/** A fresh browser context with `count` learner tabs that have joined (see `openLearnerTabs`). */
export async function joinedTabs(
  browser: Browser,
  count: number,
  query: (shard: number) => Record<string, string>,
): Promise<{ context: BrowserContext; tabs: Page[] }> {
  const context = await browser.newContext();
  return { context, tabs: await openLearnerTabs(context, count, query) };
}
