import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor } from '@oiafed/core';
import { afterAll, describe, expect, it } from 'vitest';
import { FileCheckpointStore } from './file-checkpoint-store.js';

const dir = await mkdtemp(join(tmpdir(), 'oiafed-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('FileCheckpointStore', () => {
  it('saves and loads the round, the weights as Float32Arrays, and the history', async () => {
    const store = new FileCheckpointStore(join(dir, 'run', 'checkpoint.bin'));
    expect(await store.load()).toBeUndefined();
    const history = [
      {
        round: 2,
        clients: ['a'],
        results: 1,
        numExamples: 5,
        failures: [],
        trainMetrics: { loss: 0.5 },
        evalMetrics: { accuracy: 0.9 },
        timings: { trainMs: 1, evaluateMs: 2, totalMs: 3 },
      },
    ];
    await store.save({ round: 2, weights: { w: tensor([1, 2, 3, 4], [2, 2]) }, history });
    const loaded = await store.load();
    expect(loaded?.round).toBe(2);
    expect(loaded?.weights.w!.data).toBeInstanceOf(Float32Array);
    expect(loaded?.weights.w).toEqual({ shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
    expect(loaded?.history).toEqual(history);
  });

  it('refuses a file that is not a checkpoint', async () => {
    const path = join(dir, 'other.bin');
    await writeFile(path, new Uint8Array([0x93, 1, 2, 3]));
    await expect(new FileCheckpointStore(path).load()).rejects.toThrow(/not an oiafed checkpoint/);
  });
});
