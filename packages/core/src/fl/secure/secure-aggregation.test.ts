import { describe, expect, it } from 'vitest';
import type { DataFrame } from '../../wire/envelope.js';
import { Node } from '../../rpc/node.js';
import { Federation } from '../federation.js';
import { FedAvg } from '../strategies/fedavg.js';
import { createStrategy } from '../strategies/by-name.js';
import { maxAbsDiff } from '../weights.js';
import { flatLayout } from './layout.js';
import { addMask } from './mask.js';
import { DELIVER, MASKED_INPUT, SHARE_KEYS, UNMASK } from './messages.js';
import { resolveSecureAggregation } from './options.js';
import { quantizationError, quantizationLevels, quantizeInto } from './quantize.js';
import { secureSum } from './secure-round.js';
import {
  cohortOn,
  drop,
  federate,
  learnerAt,
  nodes,
  plainFedAvg,
  SECURE,
  setUp,
  start,
  type Hooks,
} from './secure-aggregation.test-support.js';

describe('secure aggregation (SecAgg+)', () => {
  it('unmasks exactly the sum of the learners’ encoded updates, modulo 2^32', async () => {
    const learners = Array.from({ length: 6 }, (_, i) => learnerAt(i));
    const { trainer } = await setUp(learners);
    const secure = resolveSecureAggregation({ clipRange: 1 });
    const ids = trainer.registry.connected();
    const out = await secureSum(
      new FedAvg(),
      { round: 1, weights: start, config: {} },
      cohortOn(trainer),
      ids,
      {
        minResults: 1,
        secure,
      },
    );
    const levels = quantizationLevels(32, 6, secure.maxExamples);
    expect(out.levels).toBe(levels);
    const layout = flatLayout(start);
    const expected = new Uint32Array(layout.size + 1);
    for (const l of learners) {
      const encoded = new Uint32Array(layout.size + 1);
      for (const { name, offset } of layout.tensors)
        quantizeInto(l.update[name]!.data, 1, levels, l.numExamples, encoded, offset);
      encoded[layout.size] = l.numExamples;
      addMask(expected, encoded, 32);
    }
    expect(out.survivors.sort()).toEqual([...ids].sort());
    expect([...out.sum]).toEqual([...expected]);
  });

  it('reaches plaintext FedAvg’s model within the quantisation error, and reports the round', async () => {
    const learners = Array.from({ length: 5 }, (_, i) => learnerAt(i * 13));
    const { federation } = await federate(learners, {});
    const result = await federation.start();
    const err = quantizationError(1, quantizationLevels(32, 5, 1000));
    expect(maxAbsDiff(result.weights, plainFedAvg(learners))).toBeLessThanOrEqual(err + 1e-6);
    expect(result.history[0]).toMatchObject({
      results: 5,
      numExamples: learners.reduce((n, l) => n + l.numExamples, 0),
    });
    expect(result.history[0]!.trainMetrics.loss).toBeGreaterThan(0);
  });

  it('gives the trainer masked vectors only: no learner’s update or encoding is among what it received', async () => {
    const learners = Array.from({ length: 4 }, (_, i) => learnerAt(i * 31));
    const { federation, received } = await federate(learners, {});
    await federation.start();
    const results = received.filter((f): f is Extract<DataFrame, { kind: 'result' }> => f.kind === 'result');
    const masked = results
      .map((f) => f.value as { masked?: unknown })
      .filter((v) => v.masked instanceof Uint32Array)
      .map((v) => v.masked as Uint32Array);
    expect(masked).toHaveLength(4);
    const levels = quantizationLevels(32, 4, 1000);
    const layout = flatLayout(start);
    for (const l of learners) {
      const encoded = new Uint32Array(layout.size + 1);
      for (const { name, offset } of layout.tensors)
        quantizeInto(l.update[name]!.data, 1, levels, l.numExamples, encoded, offset);
      for (const m of masked)
        expect(m.subarray(0, layout.size)).not.toEqual(encoded.subarray(0, layout.size));
    }
    // No float tensor came back from any learner: not its model, not its update.
    const floats = JSON.stringify(
      results.map((f) => f.value),
      (_k, v: unknown) => (v instanceof Float32Array ? 'FLOAT32' : v),
    );
    expect(floats).not.toContain('FLOAT32');
  });

  it(
    'survives 100 learners of whom 10% drop during share exchange and 30% after their masked input',
    { timeout: 120_000 },
    async () => {
      const learners = Array.from({ length: 100 }, (_, i) => learnerAt(i));
      // 0-4 drop sending their shares, 5-9 before taking delivery of others', 10-39 after their masked input.
      const hooks = (i: number): Hooks | undefined =>
        i < 5
          ? { [SHARE_KEYS]: drop }
          : i < 10
            ? { [DELIVER]: drop }
            : i < 40
              ? { [UNMASK]: drop }
              : undefined;
      const { federation } = await federate(learners, { minResults: 50 }, hooks);
      const result = await federation.start();
      const failed = result.history[0]!.failures.map((f) => f.client);
      // Those that dropped after sending their masked input are in the sum: their self masks are
      // rebuilt from the others' shares, as are the pairwise masks of those that never sent one.
      const inputs = learners.slice(10);
      const err = quantizationError(1, quantizationLevels(32, 100, 1000));
      expect(maxAbsDiff(result.weights, plainFedAvg(inputs))).toBeLessThanOrEqual(err + 1e-6);
      expect(maxAbsDiff(result.weights, plainFedAvg(learners.slice(40)))).toBeGreaterThan(1e-3);
      expect(result.history[0]!.results).toBe(90);
      expect(new Set(failed).size).toBe(40);
    },
  );

  it('fails the round cleanly, naming the unmask phase, when too few neighbours survive', async () => {
    const learners = Array.from({ length: 10 }, (_, i) => learnerAt(i));
    // Six of ten drop after their masked input: the four left hold 3 shares of each other's self
    // masks (the threshold is 5 of 9 neighbours).
    const { federation } = await federate(learners, {}, (i) => (i < 6 ? { [UNMASK]: drop } : undefined));
    await expect(federation.start()).rejects.toMatchObject({
      code: 'ROUND_FAILED',
      message: expect.stringMatching(/phase unmask: .*fewer than the threshold 5/),
    });
  });

  it('fails naming the masked-input phase when fewer than minResults masked inputs arrive', async () => {
    const learners = Array.from({ length: 6 }, (_, i) => learnerAt(i));
    const { federation } = await federate(learners, { minResults: 6 }, (i) =>
      i === 2 ? { [MASKED_INPUT]: () => Promise.reject(new Error('battery died')) } : undefined,
    );
    await expect(federation.start()).rejects.toMatchObject({
      code: 'ROUND_FAILED',
      message: expect.stringMatching(/phase masked input/),
    });
  });

  describe('a learner answering malformed data is left out, and the round goes on', () => {
    const honestOthers = async (bad: Hooks, expectFailure: RegExp) => {
      const learners = Array.from({ length: 8 }, (_, i) => learnerAt(i * 7));
      const { federation } = await federate(learners, {}, (i) => (i === 3 ? bad : undefined));
      const result = await federation.start();
      const failures = result.history[0]!.failures;
      const others = learners.filter((_, i) => i !== 3);
      const err = quantizationError(1, quantizationLevels(32, 8, 1000));
      expect(maxAbsDiff(result.weights, plainFedAvg(others))).toBeLessThanOrEqual(err + 1e-6);
      expect(failures.map((f) => f.client)).toContain('learner-003');
      expect(failures.find((f) => f.client === 'learner-003')!.message).toMatch(expectFailure);
    };

    it('sealed shares of the wrong size', () =>
      honestOthers(
        {
          [SHARE_KEYS]: async (honest) => {
            const { shares } = await honest();
            return { shares: shares.map((s) => ({ to: s.to, sealed: s.sealed.subarray(1) })) };
          },
        },
        /sealed share must be/,
      ));

    it('a share sealed with the wrong key (it does not open at its receiver)', () =>
      honestOthers(
        {
          [SHARE_KEYS]: async (honest) => {
            const answer = await honest();
            const { shares } = answer;
            const bad = shares.map((s, i) => {
              const sealed = s.sealed.slice();
              if (i === 0) sealed[40]! ^= 0xff;
              return { to: s.to, sealed };
            });
            return { ...answer, shares: bad };
          },
        },
        /did not open/,
      ));

    it('a masked vector of the wrong length, or not integers', () =>
      honestOthers(
        {
          [MASKED_INPUT]: async (honest) => ({ ...(await honest()), masked: new Float32Array(6) }),
        },
        /masked input must be a Uint32Array/,
      ));

    it('keys that are not X25519 public keys', () =>
      honestOthers(
        { 'oiafed.secagg.advertise': () => ({ c: new Uint8Array(3), s: 'key' }) },
        /keys must be/,
      ));
  });

  it('ignores malformed unmask shares from one survivor: the others’ shares rebuild the masks', async () => {
    const learners = Array.from({ length: 7 }, (_, i) => learnerAt(i * 5));
    const { federation } = await federate(learners, {}, (i) =>
      i === 1
        ? { [UNMASK]: async (honest) => ({ ...(await honest()), survivors: [new Uint8Array(66).fill(255)] }) }
        : undefined,
    );
    const result = await federation.start();
    const err = quantizationError(1, quantizationLevels(32, 7, 1000));
    // Its own masked input was well formed: it stays in the sum.
    expect(maxAbsDiff(result.weights, plainFedAvg(learners))).toBeLessThanOrEqual(err + 1e-6);
  });

  it('finds a survivor’s well-formed but wrong shares by the commitments and public keys, and leaves them out', async () => {
    const learners = Array.from({ length: 8 }, (_, i) => learnerAt(i * 3));
    const wrong = () => {
      const share = globalThis.crypto.getRandomValues(new Uint8Array(66));
      share[0] = 0;
      return share;
    };
    const { federation } = await federate(learners, {}, (i) =>
      i === 1
        ? {
            [UNMASK]: async (honest) => {
              const answer = await honest();
              return { survivors: answer.survivors.map(wrong), dropped: answer.dropped.map(wrong) };
            },
          }
        : i === 7
          ? { [MASKED_INPUT]: drop }
          : undefined,
    );
    // Announced as any failed learner is (CLIENT_FAILED), so it counts toward exclusion too.
    const announced: { round: number; client: string; message: string }[] = [];
    federation.events.on('CLIENT_FAILED', (f) => announced.push(f));
    const result = await federation.start();
    expect(
      announced.filter((f) => f.client === 'learner-001' && f.round === 1).map((f) => f.message),
    ).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/wrong share of learner-\d+'s self-mask seed/),
        expect.stringMatching(/wrong share of learner-007's mask key/),
      ]),
    );
    const err = quantizationError(1, quantizationLevels(32, 8, 1000));
    expect(maxAbsDiff(result.weights, plainFedAvg(learners.slice(0, 7)))).toBeLessThanOrEqual(err + 1e-6);
    const blamed = result.history[0]!.failures.filter((f) => f.client === 'learner-001');
    expect(blamed.map((f) => f.message)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/wrong share of learner-\d+'s self-mask seed/),
        expect.stringMatching(/wrong share of learner-007's mask key/),
      ]),
    );
  });

  it('is refused with strategies whose aggregate is not a weighted sum, and with FedBuff', async () => {
    const trainer = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(trainer);
    expect(
      () =>
        new Federation({
          node: trainer,
          rounds: 1,
          strategy: createStrategy('fedmedian'),
          secureAggregation: SECURE,
        }),
    ).toThrow(/secureAggregation .*fedmedian/);
    expect(
      () =>
        new Federation({
          node: trainer,
          rounds: 1,
          schedule: { name: 'fedbuff', concurrency: 2, buffer: 1 },
          secureAggregation: SECURE,
        }),
    ).toThrow(/secureAggregation needs synchronous rounds: FedBuff/);
    expect(() => new Federation({ node: trainer, rounds: 1, secureAggregation: { clipRange: 0 } })).toThrow(
      /federation.secureAggregation.clipRange must be a number > 0/,
    );
    // The server optimisers step from the weighted mean: allowed.
    expect(
      () =>
        new Federation({
          node: trainer,
          rounds: 1,
          strategy: createStrategy('fedadam'),
          secureAggregation: SECURE,
        }),
    ).not.toThrow();
  });
});
