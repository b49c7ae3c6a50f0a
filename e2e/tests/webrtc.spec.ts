// WebRTC mode with real Chromium tabs. Run inside a private network namespace (scripts/test-all.sh
// does): with loopback alone Chromium gathers no ICE candidates.
import { Node } from '@oiafed/core';
import { servePeerSignalling, serveWebRtc, type SignallingServer } from '@oiafed/node';
import { expect, test } from '@playwright/test';
import { closeWhileTraining, joinedTabs, openLearnerTabs, PAGES } from './learner-page.js';
import { demoData, demoTrainerArgs, TrainerProcess } from './trainer-process.js';

const data = demoData();
const overWebRtc = (signalling: string, trainer: string) => ({
  ...data,
  transport: 'webrtc',
  signalling,
  trainer,
  heartbeat: '1000',
});
const urlOf = (server: SignallingServer) => `http://${server.host}:${server.port}/`;

test('a Node trainer and three learner tabs run FedAvg on MNIST over data channels; a tab closed mid-round is dropped and the round completes', async ({
  browser,
}) => {
  const trainer = new TrainerProcess(
    demoTrainerArgs(data, ['--rounds', '3', '--clients', '3', '--min-clients', '2']),
    'webrtc',
  );
  try {
    const signalling = await trainer.listening();
    const { context, tabs } = await joinedTabs(browser, 3, () => overWebRtc(signalling, 'trainer'));

    const [, acc1] = await trainer.waitFor(/round +1\/3 +3\/3 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4); // chance is 0.1

    // PeerJS's own close event often never comes: the heartbeat finds the tab gone, after 3 s of
    // silence, counted from its last tick that heard the tab (ticks every 1 s): within 5 s.
    await trainer.sawDisconnect('tab-2', await closeWhileTraining(tabs[2]!, 2), 5_000);
    await trainer.waitFor(/round +2\/3 +2\/3 clients +1 failed/);
    const [, finalAcc] = await trainer.waitFor(
      /done: 3 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(Number(acc1));
    expect(await trainer.exited).toBe(0);
    await context.close();
  } finally {
    trainer.kill();
  }
});

test('a trainer in one tab and learners in two other tabs (browser to browser) run FedAvg on MNIST', async ({
  browser,
}) => {
  const server = await servePeerSignalling();
  try {
    const context = await browser.newContext();
    const trainerTab = await context.newPage();
    trainerTab.on('pageerror', (e) => console.log(`trainer tab: ${e.message}`));
    const query = {
      signalling: urlOf(server),
      id: 'tab-trainer',
      clients: '2',
      rounds: '3',
      heartbeat: '1000',
      seed: data.seed,
      trainSize: data.trainSize,
      testSize: data.testSize,
    };
    await trainerTab.goto(`${PAGES}/trainer.html?${new URLSearchParams(query)}`);
    await trainerTab.waitForFunction(() => 'oiafedTrainer' in globalThis, undefined, {
      timeout: 120_000,
      polling: 'raf',
    });
    await openLearnerTabs(context, 2, () => overWebRtc(urlOf(server), 'tab-trainer'));

    const history = await trainerTab.evaluate(async () => {
      const { done } = (
        globalThis as unknown as {
          oiafedTrainer: {
            done: Promise<{ history: { results: number; evalMetrics: { accuracy?: number } }[] }>;
          };
        }
      ).oiafedTrainer;
      return (await done).history.map((r) => ({ results: r.results, accuracy: r.evalMetrics.accuracy ?? 0 }));
    });
    expect(history.map((r) => r.results)).toEqual([2, 2, 2]);
    expect(history[0]!.accuracy).toBeGreaterThan(0.4);
    expect(history[2]!.accuracy).toBeGreaterThan(history[0]!.accuracy);
    await context.close();
  } finally {
    await server.close();
  }
});

test('a 50 MB weights payload crosses a Chromium data channel both ways intact while heartbeats hold', async ({
  browser,
}) => {
  const server = await servePeerSignalling();
  // Liveness declared dead after 900 ms of silence, far shorter than the transfer takes.
  const heartbeat = { interval: 300, timeout: 900 };
  const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat });
  const peer = await serveWebRtc(trainer, { signalling: server });
  try {
    const context = await browser.newContext();
    const [tab] = await openLearnerTabs(context, 1, () => ({
      ...overWebRtc(urlOf(server), 'trainer'),
      heartbeat: '300',
    }));
    // The tab checks what arrives before sending it back: both directions are checked on their own.
    await tab!.evaluate(
      `{ const checksum = ${checksum.toString()}; globalThis.oiafed.node.handle('echo', (w) => ((globalThis.received = checksum(w)), w)); }`,
    );
    let lost = false;
    trainer.events.on('CLIENT_DISCONNECTED', () => (lost = true));
    const weights = new Float32Array((50 * 1024 * 1024) / 4).map((_, i) => (i % 9973) / 3);
    const started = Date.now();
    const back = (await trainer.call('tab-0', 'echo', [weights], { timeout: 120_000 })) as Float32Array;
    const seconds = (Date.now() - started) / 1000;
    expect(await tab!.evaluate(() => (globalThis as unknown as { received: number }).received)).toBe(
      checksum(weights),
    );
    expect(back.length).toBe(weights.length);
    expect(checksum(back)).toBe(checksum(weights));
    expect(lost).toBe(false);
    expect(trainer.registry.get('tab-0')?.state).toBe('connected');
    console.log(
      `50 MB each way over a Chromium data channel: ${seconds.toFixed(1)} s for the round trip, heartbeat timeout 0.9 s`,
    );
    await context.close();
  } finally {
    peer.destroy();
    trainer.close();
    await server.close();
  }
});

function checksum(values: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i += 1) sum = (sum + values[i]! * ((i % 7) + 1)) % 1e9;
  return sum;
}
