import type { FederationMember, FederationResult } from '@oiafed/core';
import { expect } from 'vitest';
import { maxAbsDiff } from '../../core/src/fl/weights.js';
import { withTimeout } from '../../core/src/test-support.js';
import { FileCheckpointStore } from './file-checkpoint-store.js';
import type { LineProcess } from './line-process.test-support.js';

/**
 * A 3-round hierarchical run's end, as its processes show it: the root's checkpoint holds the flat
 * run's weights (within 1e-5) and example count, every leaf is told the run completed through its
 * aggregator, and every aggregator process exits 0.
 */
export async function expectEndedAtFlat(
  checkpoint: string,
  flatRun: FederationResult,
  members: readonly FederationMember[],
  aggregators: readonly LineProcess[],
): Promise<void> {
  const saved = await new FileCheckpointStore(checkpoint).load();
  expect(saved?.round).toBe(3);
  expect(maxAbsDiff(saved!.weights, flatRun.weights)).toBeLessThanOrEqual(1e-5);
  expect(saved!.history[2]!.numExamples).toBe(flatRun.history[2]!.numExamples);
  for (const m of members)
    expect(await withTimeout(m.finished, 20_000, `${m.id} not told`)).toEqual({
      reason: 'completed',
      rounds: 3,
    });
  for (const a of aggregators)
    expect(await withTimeout(a.exited, 20_000, 'an aggregator did not exit')).toBe(0);
}
