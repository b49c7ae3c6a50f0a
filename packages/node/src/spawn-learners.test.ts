import { Federation, Node, transfer } from '@oiafed/core';
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { LineProcess } from './line-process.test-support.js';
import { spawnLearners, type WorkerLearners } from './spawn-learners.js';

const fixture = new URL('./fixtures/linear-learner.fixture.ts', import.meta.url);
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0)) await fn();
});

function trainerNode() {
  const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
  cleanup.push(() => node.close());
  return node;
}

async function spawn(
  trainer: Node,
  options: Partial<Parameters<typeof spawnLearners>[0]> = {},
): Promise<WorkerLearners> {
  const learners = await spawnLearners({ trainer, module: fixture, count: 3, ...options });
  cleanup.push(() => learners.terminate());
  return learners;
}

describe('learners in worker_threads', () => {
  it('shares workers among learners when there are more learners than workers', async () => {
    const trainer = trainerNode();
    const learners = await spawn(trainer, { count: 5, workers: 2 });
    expect(learners.workers).toHaveLength(2);
    expect(trainer.registry.connected().sort()).toEqual([
      'learner-0',
      'learner-1',
      'learner-2',
      'learner-3',
      'learner-4',
    ]);
    expect(await trainer.proxy<{ caller(): string }>('learner-3').caller()).toBe('trainer');
  });

  it('marks the learners of a killed worker DISCONNECTED at once, and the round completes with the others', async () => {
    const trainer = trainerNode();
    const learners = await spawn(trainer, { data: { hangIndex: 1 } });
    const federation = new Federation({ node: trainer, rounds: 1, config: { lr: 0.05 } });
    const disconnected = new Promise<string>((resolve) =>
      trainer.events.once('CLIENT_DISCONNECTED', (c) => resolve(c.id)),
    );
    let killedAt = 0;
    federation.events.on('CLIENT_RESULT', ({ client }) => {
      // learner-1 hangs; once another has answered, learner-1 is mid-round: kill its worker.
      if (killedAt === 0 && client !== 'learner-1') {
        killedAt = Date.now();
        void learners.terminate(1); // the same call as in browsers
      }
    });
    const result = await federation.start();
    expect(await disconnected).toBe('learner-1');
    expect(result.history[0]).toMatchObject({
      results: 2,
      failures: [{ client: 'learner-1', code: 'DISCONNECTED' }],
    });
    expect(Date.now() - killedAt).toBeLessThan(5_000);
    expect(trainer.registry.get('learner-1')?.state).toBe('disconnected');
  });

  it('fails with an error naming the module when the learner module is missing or throws', async () => {
    const trainer = trainerNode();
    await expect(
      spawnLearners({ trainer, module: new URL('./fixtures/no-such-learner.ts', import.meta.url), count: 1 }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/learner module .*no-such-learner\.ts failed to load/),
    });
    await expect(
      spawnLearners({
        trainer,
        module: new URL('./fixtures/broken-learner.fixture.ts', import.meta.url),
        count: 1,
      }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        /broken-learner\.fixture\.ts failed to load: this learner module is broken on purpose/,
      ),
    });
  });

  it('moves a transferred buffer instead of copying it: the sender loses it', async () => {
    const trainer = trainerNode();
    await spawn(trainer, { count: 1 });
    const values = new Float32Array([1, 2, 3, 4]);
    const back = await trainer
      .proxy<{ echo(v: Float32Array): Float32Array }>('learner-0')
      .echo(transfer(values, [values.buffer]));
    expect(values.buffer.byteLength).toBe(0); // detached: it now belongs to the worker
    expect(Array.from(back)).toEqual([1, 2, 3, 4]);
  });

  it('spawns learners from a trainer process started with --expose-gc, a flag workers refuse', async () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const args = [
      '--expose-gc',
      '--import',
      'tsx',
      '--conditions=source',
      'fixtures/spawn-under-expose-gc.fixture.ts',
    ];
    const child = new LineProcess(args, { cwd: here });
    cleanup.push(() => child.kill());
    await child.waitFor(/^spawned 2 with gc function$/, 60_000);
    expect(await child.exited).toBe(0);
  });

  it('loads a TypeScript learner module in the workers of a trainer run with tsx against the built packages', async () => {
    // No `--conditions=source`: the SDK is its dist, as in an app that installed it, and Node 20 does
    // not run the parent's `--import tsx` in a worker.
    const here = fileURLToPath(new URL('.', import.meta.url));
    const child = new LineProcess(['--import', 'tsx', 'fixtures/spawn-from-dist.fixture.ts'], { cwd: here });
    cleanup.push(() => child.kill());
    await child.waitFor(/^typed learner 0$/, 60_000);
    await child.waitFor(/^typed learner 1$/, 10_000);
    await child.waitFor(/^sdk from file:.*\/packages\/node\/dist\/index\.js$/, 10_000);
    expect(await child.exited).toBe(0);
  });

  it('imports the preload modules in each worker before the learner module, and names one that fails', async () => {
    const trainer = trainerNode();
    const typed = new URL('./fixtures/typed-learner.fixture.ts', import.meta.url);
    const learners = await spawn(trainer, {
      module: typed,
      count: 2,
      workers: 2,
      preload: [fileURLToPath(new URL('./fixtures/preload-marker.fixture.mjs', import.meta.url))],
    });
    for (const id of learners.ids)
      expect(await trainer.proxy<{ preloaded(): unknown }>(id).preloaded()).toBe('by preload-marker');
    await expect(
      spawnLearners({
        trainer,
        module: typed,
        count: 1,
        preload: [new URL('./fixtures/broken-preload.fixture.mjs', import.meta.url)],
      }),
    ).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /preload module .*broken-preload\.fixture\.mjs failed to load: this preload is broken on purpose/,
      ),
    });
  });

  it('refuses a count that is not a positive integer', async () => {
    await expect(spawnLearners({ trainer: trainerNode(), module: fixture, count: 0 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
