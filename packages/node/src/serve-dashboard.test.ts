import { Federation, Node, type FederationMember } from '@oiafed/core';
import { observerFeed, type DashboardFeed, type DashboardUpdate } from '@oiafed/dashboard';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { linearLearner } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { DASHBOARD_PATH, dashboardPage } from './dashboard-page.js';
import { joinFederation } from './join-federation.js';
import { serveDashboard } from './serve-dashboard.js';
import { serveWebSocket } from './web-socket-server.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function trainer(): { node: Node; federation: Federation } {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  cleanup.push(() => node.close());
  return { node, federation: new Federation({ node, rounds: 3, minClients: 2 }) };
}

async function learners(url: string, count: number): Promise<FederationMember[]> {
  const members = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      joinFederation({ url, id: `learner-${i}`, learner: linearLearner(i), heartbeat: false }),
    ),
  );
  cleanup.push(() => members.forEach((m) => m.close()));
  return members;
}

function feedOf(url: string): DashboardFeed {
  const feed = observerFeed({ url, id: 'dashboard', WebSocket, rows: 10 });
  cleanup.push(() => feed.close());
  return feed;
}

/** The first update that passes `test`, bounded. */
function update(
  feed: DashboardFeed,
  test: (u: DashboardUpdate) => boolean,
  what: string,
): Promise<DashboardUpdate> {
  return withTimeout(
    new Promise<DashboardUpdate>((resolve) => {
      const stop = feed.onUpdate((u) => {
        if (!test(u)) return;
        stop();
        resolve(u);
      });
    }),
    10_000,
    `no update with ${what}`,
  );
}

describe('serveDashboard', () => {
  it("serves the page on the trainer's own port, where an observer watches a real run and pauses and resumes it with the admin token", async () => {
    const run = trainer();
    const page = await dashboardPage();
    const server = await serveWebSocket(run.node, { port: 0, http: page.handler });
    cleanup.push(() => server.close());
    const dashboard = await serveDashboard(run, { server, page, adminToken: 'sesame' });
    cleanup.push(() => dashboard.close());
    expect(dashboard.url).toBe(`http://127.0.0.1:${server.port}${DASHBOARD_PATH}`);

    const html = await fetch(dashboard.url);
    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(await html.text())?.[1];
    expect((await fetch(new URL(script!, dashboard.url))).headers.get('content-type')).toMatch(/javascript/);
    const root = await fetch(`http://127.0.0.1:${server.port}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, DASHBOARD_PATH]);
    for (const path of ['/dashboard/%2e%2e/package.json', '/dashboard/..%2fpackage.json', '/package.json'])
      expect((await fetch(`http://127.0.0.1:${server.port}${path}`)).status).toBe(404);
    expect((await fetch(dashboard.url, { method: 'POST' })).status).toBe(405);

    await learners(server.url, 2);
    const feed = feedOf(server.url);
    const first = await feed.snapshot();
    expect(first).toMatchObject({ state: 'idle', controls: true, learners: { connected: 2 } });
    expect(first.clients.map((c) => c.id).sort()).toEqual(['learner-0', 'learner-1']);
    const controls = feed.controls!;
    await expect(controls.send('pause', 'sesam')).rejects.toMatchObject({ remoteCode: 'UNAUTHORIZED' });
    await expect(controls.send('pause')).rejects.toMatchObject({ remoteCode: 'UNAUTHORIZED' });
    expect(await controls.send('pause', 'sesame')).toBe('paused');
    const result = run.federation.start();
    expect(run.federation.history).toHaveLength(0);
    const finished = update(feed, (u) => u.telemetry.state === 'finished', 'the run finished');
    expect(await controls.send('resume', 'sesame')).toBe('running');
    expect((await result).rounds).toBe(3);
    const last = (await finished).telemetry;
    expect(last.round).toBe(3);
    expect(last.clients.every((c) => c.rounds === 3 && c.bytesIn! > 0 && c.bytesOut! > 0)).toBe(true);
    // Never a learner: not selected, not counted.
    expect(
      (await result).history.every((r) => r.clients.length === 2 && !r.clients.includes('dashboard')),
    ).toBe(true);
  });

  it('serves a run without a WebSocket server of its own on a server that only observers may join', async () => {
    const run = trainer();
    const dashboard = await serveDashboard(run, { port: 0 });
    cleanup.push(() => dashboard.close());
    const ws = `ws://${new URL(dashboard.url).host}`;
    await expect(
      joinFederation({ url: ws, id: 'intruder', learner: linearLearner(0), heartbeat: false }),
    ).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    const feed = feedOf(ws);
    expect(await feed.snapshot()).toMatchObject({
      state: 'idle',
      controls: false,
      learners: { connected: 0 },
    });
    await expect(feed.controls!.send('stop', 'anything')).rejects.toMatchObject({
      remoteCode: 'UNAUTHORIZED',
    });
    expect(run.federation.state).toBe('idle');
  });
});
