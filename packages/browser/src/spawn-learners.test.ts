import { Federation, Node } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnLearners } from './spawn-learners.js';

const linearWorker = () =>
  new Worker(new URL('./fixtures/linear-learner.worker.ts', import.meta.url), { type: 'module' });
const cleanup: (() => unknown)[] = [];
afterEach(() => cleanup.splice(0).forEach((fn) => fn()));

function trainerNode() {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  cleanup.push(() => node.close());
  return node;
}

describe('learners in Web Workers', () => {
  it('marks the learners of a terminated worker DISCONNECTED at once, and the round completes with the others', async () => {
    const trainer = trainerNode();
    const learners = await spawnLearners({
      trainer,
      count: 3,
      workers: 3,
      createWorker: linearWorker,
      data: { hangIndex: 1 },
    });
    cleanup.push(() => learners.terminate());
    const federation = new Federation({ node: trainer, rounds: 1, config: { lr: 0.05 } });
    federation.events.once('CLIENT_RESULT', () => void learners.terminate(1)); // learner-1 hangs: it is mid-round
    const disconnected = new Promise<string>((resolve) =>
      trainer.events.once('CLIENT_DISCONNECTED', (c) => resolve(c.id)),
    );
    const result = await federation.start();
    expect(await disconnected).toBe('learner-1');
    expect(result.history[0]).toMatchObject({
      results: 2,
      failures: [{ client: 'learner-1', code: 'DISCONNECTED' }],
    });
  });

  it('finds a worker that died without a word through the heartbeat', async () => {
    const heartbeat = { interval: 50, timeout: 200 };
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat });
    cleanup.push(() => trainer.close());
    const learners = await spawnLearners({
      trainer,
      count: 2,
      workers: 2,
      createWorker: linearWorker,
      node: { heartbeat },
    });
    cleanup.push(() => learners.terminate());
    const disconnected = new Promise<{ id: string; state: string }>((resolve) =>
      trainer.events.once('CLIENT_DISCONNECTED', resolve),
    );
    learners.workers[0]!.terminate(); // behind the spawner's back: nothing tells the trainer
    expect(await disconnected).toMatchObject({ id: 'learner-0', state: 'timeout' });
    // Bounded by the run's cap, not the default 20 s: loading two module workers alone took over
    // 20 s once in CI with every Chromium test file running beside it; the wait itself is an event.
  }, 60_000);

  it('fails with a clear error when the worker module does not load', async () => {
    const trainer = trainerNode();
    await expect(
      spawnLearners({
        trainer,
        count: 1,
        createWorker: () =>
          new Worker(new URL('./fixtures/broken.worker.ts', import.meta.url), { type: 'module' }),
        name: 'broken.worker.ts',
        timeout: 10_000,
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /worker 0 \(broken\.worker\.ts\): worker failed to start: .*broken on purpose/,
      ),
    });
  });
});
