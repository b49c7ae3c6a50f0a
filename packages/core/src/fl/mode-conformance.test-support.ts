import { beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../rpc/node.js';
import { Federation, type FederationResult } from './federation.js';
import { memoryReference, REFERENCE_RUN } from './linear-learner.test-support.js';
import { maxAbsDiff } from './weights.js';

/**
 * One way learners reach a trainer. `join` links `count` linear learners (learner i trains on
 * linearData(i + 1, 40), ids learner-0...) to `trainer` and returns what undoes it.
 */
export interface Mode {
  name: string;
  join(trainer: Node, count: number): Promise<() => unknown>;
}

/**
 * The promise every mode keeps: the same trainer and learner code reaches the same global model as
 * in memory (to 1e-5), every learner counted in every round. One suite, run with each platform's modes.
 */
export function modeConformance(modes: readonly Mode[]): void {
  describe('mode conformance: the same trainer and learners reach the global weights of memory mode', () => {
    let reference: FederationResult;
    beforeAll(async () => {
      reference = await memoryReference();
    });
    for (const mode of modes) {
      it(mode.name, async () => {
        const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
        let undo: (() => unknown) | undefined;
        try {
          undo = await mode.join(trainer, 3);
          expect(trainer.registry.connected().sort()).toEqual(['learner-0', 'learner-1', 'learner-2']);
          const result = await new Federation({ node: trainer, ...REFERENCE_RUN }).start();
          expect(result.history.map((r) => r.results)).toEqual([3, 3, 3]);
          expect(maxAbsDiff(result.weights, reference.weights)).toBeLessThanOrEqual(1e-5);
        } finally {
          await undo?.();
          trainer.close();
        }
      });
    }
  });
}
