import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test, type Page } from '@playwright/test';
import { CONTROL_METHOD, Node, type FederationMember } from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import { observerFeed, type DashboardTelemetry } from '@oiafed/dashboard';
import { joinFederation } from '@oiafed/node';
import WebSocket from 'ws';
import { LineProcess } from '../../packages/node/src/line-process.test-support.js';
import { SlowLearner } from './slow-learner.js';
import { TrainerProcess } from './trainer-process.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const TOKEN = 'e2e-admin-token';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/**
 * The trainer as the test sees it: an observer of its own, over the same WebSocket as the page.
 * `next(fits)` is the first update to come after which `fits(telemetry, finished)` holds, where
 * `finished` is every round whose point has arrived so far.
 */
function watch(url: string) {
  const feed = observerFeed({ url, id: 'e2e-observer', WebSocket, rows: 50 });
  const finished = new Set<number>();
  feed.onUpdate(({ telemetry, full }) => {
    if (full) finished.clear();
    for (const point of telemetry.points) finished.add(point.round);
  });
  const next = (fits: (t: DashboardTelemetry, finished: number) => boolean) =>
    new Promise<{ telemetry: DashboardTelemetry; finished: number }>((resolve) => {
      const stop = feed.onUpdate(({ telemetry }) => {
        if (!fits(telemetry, finished.size)) return;
        stop();
        resolve({ telemetry, finished: finished.size });
      });
    });
  return { feed, next };
}

const roundsDone = (trainer: LineProcess) => trainer.lines.filter((l) => /^round \d+\/\d+ /.test(l)).length;
const badge = (page: Page) => page.locator('[data-role=state]');

test('the dashboard of oiafed serve shows the run live: a chart point per finished round, a row per learner in the state the trainer reports, and pause and resume from the page take effect; its observers cannot call learners', async ({
  page,
}, testInfo) => {
  const dir = mkdtempSync(join(tmpdir(), 'oiafed-dashboard-'));
  const port = await freePort();
  const config = join(dir, 'federation.yaml');
  writeFileSync(
    config,
    [
      `transport: { mode: websocket, port: ${port} }`,
      'heartbeat: { interval: 250, timeout: 3000 }',
      'federation: { rounds: 12, minClients: 3, federatedEvaluation: true, train: { lr: 0.05 } }',
      `dashboard: { enabled: true, adminToken: ${TOKEN} }`,
      '',
    ].join('\n'),
  );
  const trainer = new LineProcess(
    ['--import', 'tsx', '--conditions=source', 'packages/node/src/cli.ts', 'serve', config],
    { cwd: repo, verbose: process.env.OIAFED_E2E_VERBOSE && 'oiafed' },
  );
  const members: FederationMember[] = [];
  let watcher: ReturnType<typeof watch> | undefined;
  try {
    const [, url] = await trainer.waitFor(/^oiafed: dashboard (http:\/\/\S+) \(controls/, 30_000);
    expect(url).toBe(`http://127.0.0.1:${port}/dashboard/`);
    await page.goto(`${url}#token=${TOKEN}`);
    // Started, waiting for its learners.
    await expect(badge(page)).toHaveText('running');
    await expect(page.locator('.oiafed-learners tfoot')).toHaveText('no learner has joined yet');
    // The token left the address bar (and the page's history) once read.
    expect(page.url()).not.toContain(TOKEN);
    watcher = watch(`ws://127.0.0.1:${port}`);

    for (let i = 0; i < 3; i++) {
      members.push(
        await joinFederation({
          url: `ws://127.0.0.1:${port}`,
          id: `learner-${i}`,
          learner: new SlowLearner(i),
          heartbeat: false,
        }),
      );
    }
    await expect(page.locator('[data-role=round]')).toHaveAttribute('data-round', /^([2-9]|1\d)$/);

    // Pause from the page: the round in flight finishes, and no other starts.
    await page.getByRole('button', { name: 'pause' }).click();
    await expect(badge(page)).toHaveText('paused');
    // Paused, and the round in flight then has finished: its point is in.
    const paused = await watcher.next((t, finished) => t.state === 'paused' && finished === t.round);
    const done = paused.finished;
    await trainer.waitFor(new RegExp(`^round ${done}/12 `));
    // Two notices later (one a second while the run is paused), still no new round.
    await watcher.next(() => true);
    const { telemetry: still, finished } = await watcher.next(() => true);
    expect([still.round, finished, still.learners.busy]).toEqual([done, done, 0]);
    expect(roundsDone(trainer)).toBe(done);

    // One point per finished round, one row per learner in the state the trainer reports.
    await expect(page.locator('.oiafed-chart')).toHaveAttribute('data-points', String(done));
    const rows = page.locator('.oiafed-learners tbody tr');
    await expect(rows).toHaveCount(3);
    for (const client of still.clients) {
      const row = page.locator(`tr[data-learner="${client.id}"]`);
      await expect(row.locator('td[data-col=state]')).toHaveText(client.activity);
      await expect(row.locator('td[data-col=rounds]')).toHaveText(String(client.rounds));
      expect(client.rounds).toBe(done);
      expect(client.rtt).toBeDefined();
    }
    await expect(page.locator('.oiafed-learners tfoot')).toHaveText('3 learners');
    const shot = testInfo.outputPath('dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    await testInfo.attach('dashboard', { path: shot, contentType: 'image/png' });

    // An observer over the same WebSocket reaches no learner, and no control without the token.
    const observer = new Node({ id: 'e2e-intruder', role: 'observer', heartbeat: false });
    try {
      await observer.connect(await connectWebSocket(`ws://127.0.0.1:${port}`, { WebSocket }));
      await expect(observer.call('learner-0', 'train', [{}])).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
      await expect(observer.call('trainer', CONTROL_METHOD, [{ action: 'resume' }])).rejects.toMatchObject({
        remoteCode: 'UNAUTHORIZED',
      });
    } finally {
      observer.close();
    }
    expect(roundsDone(trainer)).toBe(done);

    // Resume from the page: the rounds go on, to the end.
    await page.getByRole('button', { name: 'resume' }).click();
    await trainer.waitFor(new RegExp(`^round ${done + 1}/12 `), 20_000);
    await trainer.waitFor(/^done: 12 of 12 rounds \(completed\)/, 30_000);
    expect(await trainer.exited).toBe(0);
  } finally {
    watcher?.feed.close();
    members.forEach((m) => m.close());
    trainer.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the demo serves the same dashboard for MNIST: accuracy and loss per round from the page, paused mid-run', async ({
  page,
}, testInfo) => {
  const demo = new TrainerProcess([
    '--node-learners',
    '--clients',
    '4',
    '--rounds',
    '8',
    '--train-size',
    '2000',
    '--test-size',
    '500',
    '--port',
    '0',
    '--heartbeat',
    '500',
    '--dashboard',
    '--admin-token',
    TOKEN,
  ]);
  try {
    const [, url] = await demo.waitFor(/^dashboard: (http:\/\/\S+) /, 60_000);
    await page.setViewportSize({ width: 1000, height: 800 });
    await page.goto(`${url}#token=${TOKEN}`);
    await expect(page.locator('.oiafed-chart')).toHaveAttribute('data-points', /^[4-8]$/, {
      timeout: 60_000,
    });
    await page.getByRole('button', { name: 'pause' }).click();
    await expect(badge(page)).toHaveText('paused');
    // The round in flight when paused finishes; the chart then has a point for each finished round.
    await expect(page.locator('[data-role=elapsed]')).not.toHaveText('');
    const finished = () => demo.lines.filter((l) => /^round +\d+\/8 /.test(l)).length;
    await expect(page.locator('.oiafed-learners td[data-col=state]')).toHaveText(Array(4).fill('idle'));
    await expect(page.locator('.oiafed-chart')).toHaveAttribute('data-points', String(finished()));
    expect(finished()).toBeGreaterThanOrEqual(4);
    const shot = testInfo.outputPath('dashboard-demo.png');
    await page.screenshot({ path: shot });
    await testInfo.attach('dashboard-demo', { path: shot, contentType: 'image/png' });
    // The README's picture: `OIAFED_DOCS_SCREENSHOT=1` writes it into docs/.
    if (process.env.OIAFED_DOCS_SCREENSHOT) {
      mkdirSync(join(repo, 'docs'), { recursive: true });
      copyFileSync(shot, join(repo, 'docs/dashboard.png'));
    }
    await page.getByRole('button', { name: 'resume' }).click();
    await demo.waitFor(/^done: 8 rounds .* \(completed\)/, 60_000);
    expect(await demo.exited).toBe(0);
  } finally {
    demo.kill();
  }
});
