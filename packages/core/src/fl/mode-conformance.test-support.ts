import { beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../rpc/node.js';
import { Federation, type FederationOptions, type FederationResult } from './federation.js';
import { linearStart, memoryReference, REFERENCE_RUN } from './linear-learner.test-support.js';
import { DifferentialPrivacy } from './privacy/differential-privacy.js';
import { seededRandom } from './random.js';
import { FedAvg } from './strategies/fedavg.js';
import { createStrategy } from './strategies/by-name.js';
import { maxAbsDiff } from './weights.js';

/**
 * One way learners reach a trainer. `join` links `count` linear learners (learner i trains on
 * linearData(i + 1, 40) from its own model linearStart(i), ids learner-0...) to `trainer` and
 * returns what undoes it.
 */
export interface Mode {
  name: string;
  join(trainer: Node, count: number): Promise<() => unknown>;
}

/** A run every mode must make alike. */
interface ConformanceRun {
  name: string;
  /** A fresh run's options (a strategy keeps state between rounds, so each run gets its own). */
  options(): Omit<FederationOptions, 'node'>;
  /** Results each round folds in. */
  results: number[];
  /**
   * How far two memory runs may differ: 0 (the default: a run is deterministic), or the reach of noise
   * that learners draw from their own CSPRNG.
   */
  noise?: number;
}

/**
 * None passes `initialWeights`: the starting model is a learner's own, and the learners' models
 * differ, so every mode must ask the same learner for it (the id that sorts first once minClients
 * are connected), whatever order the learners arrived in.
 */
const RUNS: readonly ConformanceRun[] = [
  {
    name: 'FedAvg, every learner every round',
    options: () => ({ ...REFERENCE_RUN, minClients: 3 }),
    results: [3, 3, 3],
  },
  {
    name: 'FedAdam by name, 2 of the 3 learners a round drawn from the seed',
    options: () => ({
      ...REFERENCE_RUN,
      minClients: 3,
      minResults: 2,
      selection: { fraction: 0.5 },
      strategy: createStrategy('fedadam', { eta: 0.05 }),
    }),
    results: [2, 2, 2],
  },
  {
    name: 'FedMedian by name, every learner every round',
    options: () => ({ ...REFERENCE_RUN, minClients: 3, strategy: createStrategy('fedmedian') }),
    results: [3, 3, 3],
  },
  {
    // The learners' own starting models lie in [-4, 4): their updates stay inside the clip range.
    name: 'FedAvg with secure aggregation (SecAgg+: keys, sealed shares, masked inputs, unmasking), every learner every round',
    options: () => ({
      ...REFERENCE_RUN,
      minClients: 3,
      secureAggregation: { clipRange: 8, maxExamples: 40 },
    }),
    results: [3, 3, 3],
  },
  {
    // The learners' updates are far longer than 0.5 at first: the clip bites in every mode alike.
    name: 'DP-FedAvg, central: the trainer clips every update to 0.5 and noises the sum (noise drawn from a seeded source)',
    options: () => ({
      ...REFERENCE_RUN,
      minClients: 3,
      strategy: new DifferentialPrivacy(new FedAvg(), {
        noiseMultiplier: 0.5,
        clip: 0.5,
        random: seededRandom(7),
      }),
    }),
    results: [3, 3, 3],
  },
  {
    // Each learner draws its noise share from its own CSPRNG, in its own realm: a multiplier this
    // small keeps the noise under the comparison's 1e-5, so what is compared is the clipping each
    // learner did to its own update, told how by the training request's $privacy setting.
    name: 'DP-FedAvg, distributed: each learner clips its own update to 0.5 and adds its share of the noise',
    options: () => ({
      ...REFERENCE_RUN,
      minClients: 3,
      strategy: new DifferentialPrivacy(new FedAvg(), {
        noiseMultiplier: 1e-7,
        clip: 0.5,
        mode: 'distributed',
      }),
    }),
    results: [3, 3, 3],
    noise: 1e-6,
  },
  {
    name: 'DP-FedAvg, distributed, under secure aggregation: each learner clips and noises its update, then masks it',
    options: () => ({
      ...REFERENCE_RUN,
      minClients: 3,
      strategy: new DifferentialPrivacy(new FedAvg(), {
        noiseMultiplier: 1e-7,
        clip: 0.5,
        mode: 'distributed',
      }),
      secureAggregation: { clipRange: 8, maxExamples: 40 },
    }),
    results: [3, 3, 3],
    noise: 1e-6,
  },
];

/**
 * The promise every mode keeps: the same trainer and learner code, strategy and seed reach the same
 * global model as in memory (to 1e-5), with the same learners counted in every round. One suite,
 * run with each platform's modes.
 */
export function modeConformance(modes: readonly Mode[]): void {
  describe('mode conformance: the same trainer, learners, strategy and seed reach the global weights of memory mode, without initialWeights', () => {
    for (const run of RUNS) {
      describe(run.name, () => {
        let reference: FederationResult;
        beforeAll(async () => {
          reference = await memoryReference(run.options());
        });

        it("memory, learners joined in reverse id order: the run starts from learner-0's own model, not from the first to arrive", async () => {
          const fromLearner0 = await memoryReference({ ...run.options(), initialWeights: linearStart(0) });
          expect(maxAbsDiff(reference.weights, fromLearner0.weights)).toBeLessThanOrEqual(run.noise ?? 0);
          // The starting model still shows after the rounds: a wrong one could not pass as the right one.
          const fromLearner2 = await memoryReference({ ...run.options(), initialWeights: linearStart(2) });
          expect(maxAbsDiff(reference.weights, fromLearner2.weights)).toBeGreaterThan(1e-3);
        });

        for (const mode of modes) {
          it(mode.name, async () => {
            const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
            let undo: (() => unknown) | undefined;
            try {
              undo = await mode.join(trainer, 3);
              expect(trainer.registry.connected().sort()).toEqual(['learner-0', 'learner-1', 'learner-2']);
              const result = await new Federation({ node: trainer, ...run.options() }).start();
              expect(result.history.map((r) => r.results)).toEqual(run.results);
              expect(result.history.map((r) => [...r.clients].sort())).toEqual(
                reference.history.map((r) => [...r.clients].sort()),
              );
              expect(maxAbsDiff(result.weights, reference.weights)).toBeLessThanOrEqual(1e-5);
              // Under DP the accountant ran alike: the same epsilon after every round (none without DP).
              expect(result.history.map((r) => r.privacy?.epsilon)).toEqual(
                reference.history.map((r) => r.privacy?.epsilon),
              );
            } finally {
              await undo?.();
              trainer.close();
            }
          });
        }
      });
    }
  });
}
