import { describe, expect, it } from 'vitest';
import { maxAbsDiff } from '../weights.js';
import { DELIVER, MASKED_INPUT, UNMASK } from './messages.js';
import { quantizationError, quantizationLevels } from './quantize.js';
import { drop, federate, learnerAt, plainFedAvg } from './secure-aggregation.test-support.js';

/** Never answers: without a close at the target, the round would wait for it forever. */
const hang = () => new Promise(() => undefined);

describe('a secure round, as the federation reports it', () => {
  it('announces CLIENT_RESULT for each learner whose masked input arrived, with the count and metrics it sent in the clear', async () => {
    const learners = Array.from({ length: 7 }, (_, i) => learnerAt(i));
    // learner-001 drops before its masked input; learner-004 after it (its input is in the sum).
    const { federation } = await federate(learners, {}, (i) =>
      i === 1 ? { [DELIVER]: drop } : i === 4 ? { [UNMASK]: drop } : undefined,
    );
    const announced: {
      client: string;
      numExamples: number;
      loss?: number;
      results: number;
      masked?: true;
    }[] = [];
    federation.events.on('CLIENT_RESULT', ({ client, numExamples, metrics, results, masked, round }) => {
      expect(round).toBe(1);
      announced.push({ client, numExamples, loss: metrics.loss, results, ...(masked ? { masked } : {}) });
    });
    const result = await federation.start();
    const inputs = [0, 2, 3, 4, 5, 6];
    expect(announced.map((a) => a.client).sort()).toEqual(inputs.map((i) => `learner-00${i}`));
    expect(announced.map((a) => a.results)).toEqual([1, 2, 3, 4, 5, 6]);
    for (const a of announced) {
      const learner = learners[Number(a.client.slice(-3))]!;
      // FixedLearner reports its example count as its loss.
      expect(a).toMatchObject({ numExamples: learner.numExamples, loss: learner.numExamples, masked: true });
    }
    const [round] = result.history;
    expect(round!.results).toBe(6);
    expect(round!.numExamples).toBe(inputs.reduce((n, i) => n + learners[i]!.numExamples, 0));
    // The learner table shows the last result as masked.
    const rows = federation.status().clients;
    expect(rows.find((c) => c.id === 'learner-000')!.lastResult).toMatchObject({ round: 1, masked: true });
    expect(rows.find((c) => c.id === 'learner-001')!.lastResult).toBeUndefined();
  });

  it('closes the masked-input phase at the target under over-selection: the rest count as dropped and their masks are taken out', async () => {
    const learners = Array.from({ length: 8 }, (_, i) => learnerAt(i * 11));
    // A fraction of 0.5 over-selected twice: all 8 asked, the round closes at 4 masked inputs.
    const { federation } = await federate(
      learners,
      { selection: { fraction: 0.5 }, overSelection: 2, secureAggregation: { clipRange: 1, threshold: 3 } },
      (i) => (i >= 6 ? { [MASKED_INPUT]: hang } : undefined),
    );
    let target = 0;
    federation.events.on('ROUND_STARTED', (r) => (target = r.target));
    const arrived: number[] = [];
    federation.events.on('CLIENT_RESULT', ({ client }) => arrived.push(Number(client.slice(-3))));
    const result = await federation.start();
    expect(target).toBe(4);
    const [round] = result.history;
    expect(round!.clients).toHaveLength(8);
    // Results that were already on their way when the phase closed are summed too (never fewer).
    expect(arrived.length).toBeGreaterThanOrEqual(4);
    expect(arrived.every((i) => i < 6)).toBe(true);
    expect(round!.results).toBe(arrived.length);
    // Cancelled, not failed, as over-selection's leftovers are in plain rounds.
    expect(round!.failures).toEqual([]);
    const err = quantizationError(1, quantizationLevels(32, 8, 1000));
    const inSum = arrived.map((i) => learners[i]!);
    expect(maxAbsDiff(result.weights, plainFedAvg(inSum))).toBeLessThanOrEqual(err + 1e-6);
  });

  it('waits for more than the threshold before it closes, so every survivor’s self mask can be rebuilt', async () => {
    const learners = Array.from({ length: 8 }, (_, i) => learnerAt(i * 11));
    // Target 2, threshold 4: the phase needs 5 inputs (a learner holds no share of its own seed).
    const { federation } = await federate(learners, {
      selection: { fraction: 0.25 },
      overSelection: 4,
      secureAggregation: { clipRange: 1, threshold: 4 },
    });
    const result = await federation.start();
    expect(result.history[0]!.results).toBeGreaterThanOrEqual(5);
  });

  it('refuses a masked input whose clear weight is not its example count, and sums the others', async () => {
    const learners = Array.from({ length: 6 }, (_, i) => learnerAt(i * 7));
    const { federation } = await federate(learners, {}, (i) =>
      i === 2
        ? {
            [MASKED_INPUT]: async (honest) => {
              const answer = await honest();
              const masked = answer.masked.slice();
              masked[masked.length - 1] = 999;
              return { ...answer, masked };
            },
          }
        : undefined,
    );
    const result = await federation.start();
    const [round] = result.history;
    expect(round!.failures).toEqual([
      expect.objectContaining({
        client: 'learner-002',
        code: 'INVALID_RESULT',
        message: expect.stringMatching(/weighs 999, not \d \(its example count\)/),
      }),
    ]);
    const err = quantizationError(1, quantizationLevels(32, 6, 1000));
    expect(maxAbsDiff(result.weights, plainFedAvg(learners.filter((_, i) => i !== 2)))).toBeLessThanOrEqual(
      err + 1e-6,
    );
  });
});
