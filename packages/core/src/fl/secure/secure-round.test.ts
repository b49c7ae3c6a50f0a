import { describe, expect, it } from 'vitest';
import { DELIVER, UNMASK } from './messages.js';
import { drop, federate, learnerAt } from './secure-aggregation.test-support.js';

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
});
