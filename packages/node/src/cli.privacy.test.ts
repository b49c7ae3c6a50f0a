import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withTimeout } from '../../core/src/test-support.js';
import { oiafed, learnerProcess } from './cli-process.test-support.js';
import { LineProcess } from './line-process.test-support.js';
import { closedPort } from './ports.test-support.js';

const dir = await mkdtemp(join(tmpdir(), 'oiafed-cli-privacy-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

/**
 * Serves `federation` (YAML lines) over `transport`, starts three learner processes that join it
 * (at `where(port)`: a ws URL, or a signalling URL and the trainer's peer id), and waits until the
 * run completed two rounds and every process exited 0 by itself. Returns the server's lines.
 */
async function runWithLearnerProcesses(
  name: string,
  transport: string,
  federation: string[],
  where: (port: number) => { at: string; trainer?: string },
): Promise<string[]> {
  const port = await closedPort();
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      'node: { id: fl-trainer }',
      `transport: { mode: ${transport}, port: ${port} }`,
      'heartbeat: { interval: 200, timeout: 1000 }',
      'federation:',
      '  rounds: 2',
      '  minClients: 3',
      '  train: { lr: 0.05 }',
      '  onRoundFailure: stop',
      ...federation.map((line) => `  ${line}`),
      '',
    ].join('\n'),
  );
  const run = oiafed('serve', config);
  const learners: LineProcess[] = [];
  try {
    await run.waitFor(/^oiafed: trainer fl-trainer serving /m, 60_000);
    for (const [id, seed] of [
      ['a', '1'],
      ['b', '2'],
      ['c', '3'],
    ] as const) {
      const { at, trainer } = where(port);
      learners.push(learnerProcess(at, id, seed, ...(trainer ? [trainer] : [])));
    }
    await run.waitFor(/^done: 2 of 2 rounds \(completed\)/m, 90_000);
    expect(await withTimeout(run.exited, 10_000, 'oiafed serve did not exit')).toBe(0);
    for (const learner of learners) {
      await learner.waitFor(/^finished completed 2 \(finished\)$/, 10_000);
      expect(await withTimeout(learner.exited, 10_000, 'a finished learner process did not exit')).toBe(0);
    }
    return run.lines;
  } finally {
    learners.forEach((l) => l.kill());
    run.kill();
  }
}

const overWebSocket = (port: number) => ({ at: `ws://127.0.0.1:${port}` });
const overWebRtc = (port: number) => ({ at: `http://127.0.0.1:${port}/`, trainer: 'fl-trainer' });

// Three processes of learners and one of the trainer per test, each seconds to start on a busy machine.
describe(
  'oiafed serve with secure aggregation and differential privacy, learners in processes of their own',
  { timeout: 180_000 },
  () => {
    it('secureAggregation with distributed privacy over WebSocket: every round sums three masked, clipped and noised updates, and says epsilon', async () => {
      const lines = await runWithLearnerProcesses(
        'secure-dp-ws',
        'websocket',
        [
          'secureAggregation: { clipRange: 4, maxExamples: 100 }',
          'privacy: { noiseMultiplier: 2, clip: 1, mode: distributed }',
        ],
        overWebSocket,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(
          /serving ws:\/\/.*; fedavg\+dp, 2 rounds, minClients 3, secure aggregation, distributed differential privacy$/,
        ),
      );
      // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657 after one round, 3.1890 after two.
      expect(lines).toContainEqual(
        expect.stringMatching(/^round 1\/2 {2}3\/3 learners .* epsilon 2\.17 \(delta 1e-5, z 2, clip 1\)/),
      );
      expect(lines).toContainEqual(expect.stringMatching(/^round 2\/2 {2}3\/3 learners .* epsilon 3\.19 /));
    });

    it('secureAggregation over WebRTC: learner processes join by data channels and every round unmasks the three updates', async () => {
      const lines = await runWithLearnerProcesses(
        'secure-webrtc',
        'webrtc',
        ['secureAggregation: { clipRange: 4, maxExamples: 100 }'],
        overWebRtc,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(
          /serving http:\/\/.*\(WebRTC signalling; trainer peer fl-trainer\); fedavg, 2 rounds, minClients 3, secure aggregation$/,
        ),
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/^round 2\/2 {2}3\/3 learners {2}train loss \d\.\d+/),
      );
    });

    it('central privacy over WebSocket: the trainer clips and noises, and every round says epsilon', async () => {
      const lines = await runWithLearnerProcesses(
        'central-dp-ws',
        'websocket',
        ['privacy: { noiseMultiplier: 1, clip: 0.5 }'],
        overWebSocket,
      );
      expect(lines).toContainEqual(
        expect.stringMatching(/; fedavg\+dp, 2 rounds, minClients 3, central differential privacy$/),
      );
      // Opacus, z 1, q 1, delta 1e-5: epsilon 4.73 after one round.
      expect(lines).toContainEqual(
        expect.stringMatching(/^round 1\/2 {2}3\/3 learners .* epsilon 4\.73 \(delta 1e-5, z 1, clip 0\.5\)/),
      );
    });
  },
);
