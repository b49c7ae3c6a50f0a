import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Node } from '@oiafed/core';
import { connectWebSocket } from '@oiafed/core/internal';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LinearLearner, linearData } from '../../core/src/fl/linear-learner.test-support.js';
import { withTimeout } from '../../core/src/test-support.js';
import { joinFederation } from './join-federation.js';
import { oiafed, learnerProcess } from './cli-process.test-support.js';
import { LineProcess } from './line-process.test-support.js';

const dir = await mkdtemp(join(tmpdir(), 'oiafed-cli-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** The server and every learner process exit 0 by themselves once a two-round run completes. */
async function allExitAfterTwoRounds(run: LineProcess, learners: LineProcess[]): Promise<void> {
  await run.waitFor(/^done: 2 of 2 rounds \(completed\)/);
  expect(await withTimeout(run.exited, 10_000, 'oiafed serve did not exit')).toBe(0);
  for (const learner of learners) {
    await learner.waitFor(/^finished completed 2 \(finished\)$/, 10_000);
    expect(await withTimeout(learner.exited, 10_000, 'a finished learner process did not exit')).toBe(0);
  }
}

describe('oiafed serve', () => {
  it('runs a federation from YAML, stops cleanly on Ctrl-C (its learners keep trying), resumes from its checkpoint when started again, and tells its learners the run completed', async () => {
    const port = await freePort();
    const config = join(dir, 'federation.yaml');
    await writeFile(
      config,
      [
        `transport: { mode: websocket, port: ${port}, token: sesame }`,
        'heartbeat: { interval: 200, timeout: 1000 }',
        'federation:',
        '  rounds: 3',
        '  minClients: 2',
        '  strategy: { name: fedprox, options: { mu: 0.01 } }',
        '  train: { lr: 0.05 }',
        '  federatedEvaluation: true',
        '',
      ].join('\n'),
    );
    const first = oiafed('serve', config);
    await first.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+; fedprox, 3 rounds, minClients 2/);
    // A learner whose second training hangs, so Ctrl-C lands mid-round 2.
    const stalling = new LinearLearner(linearData(2, 30));
    const train = stalling.train.bind(stalling);
    let trained = 0;
    stalling.train = (params) => (++trained === 2 ? (new Promise(() => undefined) as never) : train(params));
    const members = await Promise.all([
      joinFederation({
        url: `ws://127.0.0.1:${port}`,
        id: 'a',
        learner: new LinearLearner(linearData(1, 30)),
        token: 'sesame',
        retry: { initialDelay: 20, maxDelay: 200 },
      }),
      joinFederation({
        url: `ws://127.0.0.1:${port}`,
        id: 'b',
        learner: stalling,
        token: 'sesame',
        retry: { initialDelay: 20, maxDelay: 200 },
      }),
    ]);
    try {
      await first.waitFor(
        /^round 1\/3 {2}2\/2 learners {2}train loss \d\.\d+ {2}eval federated_loss \d\.\d+/m,
      );
      first.interrupt();
      await first.waitFor(/^done: 1 of 3 rounds \(stopped\); checkpoint .*federation\.yaml\.checkpoint$/);
      expect(await first.exited).toBe(0);

      const second = oiafed('serve', config);
      await second.waitFor(/resuming after round 1 from .*federation\.yaml\.checkpoint/);
      await second.waitFor(/^round 3\/3 {2}2\/2 learners/, 60_000);
      await second.waitFor(/^done: 3 of 3 rounds \(completed\)/);
      expect(second.lines.some((l) => l.startsWith('round 1/'))).toBe(false);
      expect(await second.exited).toBe(0);
      for (const member of members) {
        expect(await withTimeout(member.finished, 5_000, `${member.id} not told`)).toEqual({
          reason: 'completed',
          rounds: 3,
        });
        expect(member.status.state).toBe('finished');
      }
    } finally {
      members.forEach((m) => m.close());
      first.kill();
    }
  }, 90_000); // two oiafed processes in turn, each a few seconds to start on a busy machine: 20 s was too tight

  it('ends the run for learner processes joined over WebSocket: they hear it completed and exit 0 on their own', async () => {
    const port = await freePort();
    const config = join(dir, 'learner-processes.yaml');
    await writeFile(
      config,
      [
        `transport: { mode: websocket, port: ${port} }`,
        'heartbeat: { interval: 200, timeout: 1000 }',
        'federation: { rounds: 2, minClients: 2, train: { lr: 0.05 } }',
        '',
      ].join('\n'),
    );
    const run = oiafed('serve', config);
    const learners: LineProcess[] = [];
    try {
      await run.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+; fedavg, 2 rounds, minClients 2/);
      learners.push(
        learnerProcess(`ws://127.0.0.1:${port}`, 'a', '1'),
        learnerProcess(`ws://127.0.0.1:${port}`, 'b', '2'),
      );
      await allExitAfterTwoRounds(run, learners);
    } finally {
      learners.forEach((l) => l.kill());
      run.kill();
    }
  }, 60_000);

  it('runs a federation with distributed differential privacy: learners joined over WebSocket clip and noise their updates, each round line says epsilon, and the run stops at its budget', async () => {
    const port = await freePort();
    const config = join(dir, 'privacy.yaml');
    await writeFile(
      config,
      [
        `transport: { mode: websocket, port: ${port} }`,
        'heartbeat: { interval: 200, timeout: 1000 }',
        'federation:',
        '  rounds: 10',
        '  minClients: 2',
        '  train: { lr: 0.05 }',
        '  privacy: { noiseMultiplier: 2, clip: 1, budget: 4.1, mode: distributed }',
        '',
      ].join('\n'),
    );
    const run = oiafed('serve', config);
    const learners: LineProcess[] = [];
    try {
      await run.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+; fedavg\+dp, 10 rounds, minClients 2/);
      learners.push(
        learnerProcess(`ws://127.0.0.1:${port}`, 'a', '1'),
        learnerProcess(`ws://127.0.0.1:${port}`, 'b', '2'),
      );
      // Opacus, z 2, q 1, delta 1e-5: epsilon 2.1657, 3.1890, 4.0113; a fourth round would reach 4.7285.
      await run.waitFor(
        /^round 1\/10 {2}2\/2 learners .* epsilon 2\.17 of 4\.1 \(delta 1e-5, z 2, clip 1\)/m,
      );
      await run.waitFor(/^round 3\/10 {2}2\/2 learners .* epsilon 4\.01 of 4\.1 /m);
      await run.waitFor(/^done: 3 of 10 rounds \(budget\)/);
      expect(await withTimeout(run.exited, 10_000, 'oiafed serve did not exit')).toBe(0);
      for (const learner of learners) {
        await learner.waitFor(/^finished budget 3 \(finished\)$/, 10_000);
        expect(await withTimeout(learner.exited, 10_000, 'a finished learner process did not exit')).toBe(0);
      }
    } finally {
      learners.forEach((l) => l.kill());
      run.kill();
    }
  }, 60_000);

  it('serves a federation over WebRTC: its own signalling server, learner processes joining over data channels, which exit 0 once the run completes', async () => {
    const port = await freePort();
    const config = join(dir, 'webrtc.yaml');
    await writeFile(
      config,
      [
        'node: { id: fl-trainer }',
        `transport: { mode: webrtc, port: ${port} }`,
        'heartbeat: { interval: 200, timeout: 1000 }',
        'federation: { rounds: 2, minClients: 2, train: { lr: 0.05 } }',
        '',
      ].join('\n'),
    );
    const run = oiafed('serve', config);
    const learners: LineProcess[] = [];
    try {
      await run.waitFor(
        new RegExp(
          `serving http://127\\.0\\.0\\.1:${port}/ \\(WebRTC signalling; trainer peer fl-trainer\\); fedavg, 2 rounds`,
        ),
      );
      for (const [id, seed] of [
        ['a', '1'],
        ['b', '2'],
      ] as const)
        learners.push(learnerProcess(`http://127.0.0.1:${port}/`, id, seed, 'fl-trainer'));
      await run.waitFor(/^round 2\/2 {2}2\/2 learners {2}train loss \d\.\d+/m, 30_000);
      await allExitAfterTwoRounds(run, learners);
    } finally {
      learners.forEach((l) => l.kill());
      run.kill();
    }
  }, 60_000);

  it('reports a failed round and runs it again until a good learner joins and the run completes with exit code 0; a 4 MiB error stays one short line and out of the checkpoint', async () => {
    const port = await freePort();
    const config = join(dir, 'retry.yaml');
    await writeFile(
      config,
      [
        `transport: { mode: websocket, port: ${port} }`,
        'heartbeat: { interval: 200, timeout: 1000 }',
        'federation: { rounds: 2, minClients: 2, train: { lr: 0.05 } }',
        '',
      ].join('\n'),
    );
    const run = oiafed('serve', config);
    await run.waitFor(/serving ws:\/\/127\.0\.0\.1:\d+; fedavg, 2 rounds, minClients 2/);
    const thrower = new LinearLearner(linearData(3, 30));
    thrower.train = () =>
      Promise.reject(new Error(`\u001b[2J\u001b[31m${'x'.repeat(4 << 20)}\nforged line`)) as never;
    const member = (id: string, learner: LinearLearner) =>
      joinFederation({
        url: `ws://127.0.0.1:${port}`,
        id,
        learner,
        retry: { initialDelay: 20, maxDelay: 200 },
      });
    const members = [await member('a', new LinearLearner(linearData(1, 30))), await member('b', thrower)];
    try {
      const [failed] = await run.waitFor(
        /^round 1\/2 failed \(attempt 1\): round 1: 1 of 2 learners returned train results, fewer than minResults 2 \(b: REMOTE_ERROR \\u001b\[2J\\u001b\[31mxxx.*; running it again in 1\.0 s, or when a learner joins$/,
      );
      expect(failed.length).toBeLessThan(1_500);
      members.push(await member('c', new LinearLearner(linearData(2, 30))));
      await run.waitFor(/^round 2\/2 {2}2\/3 learners {2}1 failed \(b: REMOTE_ERROR\)/);
      await run.waitFor(/^left out of selection: learner b for 5 rounds \(failed 3 in a row\)$/);
      await run.waitFor(/^done: 2 of 2 rounds \(completed\)/);
      expect(await run.exited).toBe(0);
      expect(
        run.lines.every(
          (line) => line.length < 1_500 && !line.includes('\u001b') && !line.startsWith('forged'),
        ),
      ).toBe(true);
      // b's three failures are in the history: 1 KiB each at most, not 4 MiB.
      expect((await stat(`${config}.checkpoint`)).size).toBeLessThan(16 * 1024);
    } finally {
      members.forEach((m) => m.close());
      run.kill();
    }
  });

  it('runs its trainer under node.id and node.role, which a joining learner is told', async () => {
    const port = await freePort();
    const config = join(dir, 'role.yaml');
    await writeFile(
      config,
      `node: { id: hub, role: coordinator }\ntransport: { mode: websocket, port: ${port} }\nheartbeat: false\n`,
    );
    const run = oiafed('serve', config);
    const learner = new Node({ id: 'learner-1', role: 'learner', heartbeat: false });
    try {
      await run.waitFor(/^oiafed: trainer hub serving ws:\/\/127\.0\.0\.1:\d+/);
      const link = await connectWebSocket(`ws://127.0.0.1:${port}`, { WebSocket });
      expect(await learner.connect(link)).toMatchObject({ id: 'hub', role: 'coordinator' });
      await run.waitFor(/^learner learner-1 joined$/);
      run.interrupt();
      expect(await run.exited).toBe(0);
    } finally {
      learner.close();
      run.kill();
    }
  }, 60_000); // 1.2 s alone; past 20 s once in a full fresh-clone CI run (an oiafed process starting on a busy machine)

  it('refuses a retry section, which nothing in a run would read', async () => {
    const config = join(dir, 'retry-section.yaml');
    await writeFile(config, 'transport: { mode: websocket }\nretry: { maxAttempts: 5 }\n');
    const run = oiafed('serve', config);
    await run.waitFor(/oiafed: .*retry-section\.yaml: retry is not a setting of a run/);
    expect(await run.exited).toBe(2);
  });

  it('refuses an invalid config, naming the file and the field', async () => {
    const config = join(dir, 'bad.yaml');
    await writeFile(config, 'federation:\n  rounds: 0\n');
    const run = oiafed('serve', config);
    await run.waitFor(/oiafed: .*bad\.yaml: federation\.rounds must be an integer from 1 \(got 0\)/);
    expect(await run.exited).toBe(2);
  });

  it('refuses a transport it cannot serve', async () => {
    const config = join(dir, 'memory.yaml');
    await writeFile(config, 'transport: { mode: memory }\n');
    const run = oiafed('serve', config);
    await run.waitFor(/transport\.mode must be websocket or webrtc for oiafed serve \(got memory\)/);
    expect(await run.exited).toBe(1);
  });
});
