// Secure aggregation and distributed differential privacy with learners in real Chromium tabs: the
// learner page writes nothing for either (joinFederation serves both protocols' learner side).
// The WebRTC test runs inside a private network namespace (scripts/test-all.sh does): with
// loopback alone Chromium gathers no ICE candidates.
import { expect, test } from '@playwright/test';
import { openLearnerTabs, statusOf } from './learner-page.js';
import { TrainerProcess, demoData, demoTrainerArgs } from './trainer-process.js';

// Three tabs training MNIST beside the trainer process and Vite, on a shared 2-core machine: 2 minutes was too short.
test.describe.configure({ timeout: 300_000 });

const data = demoData('2000');
const trainerArgs = demoTrainerArgs(data, ['--rounds', '2', '--clients', '3', '--secure']);

test('three learner tabs over WebSocket, secure aggregation with distributed DP: each tab clips, noises and masks its update; every round says epsilon', async ({
  browser,
}) => {
  const trainer = new TrainerProcess([
    ...trainerArgs,
    '--dp-noise',
    '2',
    '--dp-clip',
    '1',
    '--dp-mode',
    'distributed',
  ]);
  try {
    await trainer.waitFor(/secure aggregation, .*; differential privacy \(distributed\): noise multiplier 2/);
    const [, url] = await trainer.waitFor(/trainer listening on (ws:\/\/\S+);/);
    const context = await browser.newContext();
    const tabs = await openLearnerTabs(context, 3, () => ({ ...data, server: url!, heartbeat: '1000' }));
    // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657 after one round, 3.1890 after two.
    await trainer.waitFor(/round +1\/2 +3\/3 clients .* epsilon 2\.17 \(delta 1e-5, z 2, clip 1\)/);
    await trainer.waitFor(/round +2\/2 +3\/3 clients .* epsilon 3\.19 /);
    await trainer.waitFor(/done: 2 rounds .* \(completed\)/);
    expect(await trainer.exited).toBe(0);
    for (const tab of tabs) expect(await statusOf(tab, ['finished'])).toBe('finished');
    await context.close();
  } finally {
    trainer.kill();
  }
});

test('three learner tabs over WebRTC data channels, secure aggregation: the unmasked sum trains the model', async ({
  browser,
}) => {
  const trainer = new TrainerProcess(trainerArgs, 'webrtc');
  try {
    const [, signalling] = await trainer.waitFor(/trainer listening on (http:\/\/\S+) \(WebRTC signalling/);
    const context = await browser.newContext();
    const tabs = await openLearnerTabs(context, 3, () => ({
      ...data,
      transport: 'webrtc',
      signalling: signalling!,
      trainer: 'trainer',
      heartbeat: '1000',
    }));
    const [, acc1] = await trainer.waitFor(/round +1\/2 +3\/3 clients .* test acc (\d\.\d+)/);
    expect(Number(acc1)).toBeGreaterThan(0.4); // chance is 0.1
    const [, finalAcc] = await trainer.waitFor(
      /done: 2 rounds .* \(completed\); final test accuracy (\d\.\d+)/,
    );
    expect(Number(finalAcc)).toBeGreaterThan(0.4);
    expect(await trainer.exited).toBe(0);
    for (const tab of tabs) expect(await statusOf(tab, ['finished'])).toBe('finished');
    await context.close();
  } finally {
    trainer.kill();
  }
});
