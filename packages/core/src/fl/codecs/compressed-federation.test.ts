import { afterEach, describe, expect, it } from 'vitest';
import { joinInMemory } from '../../connect/join-in-memory.js';
import { Node } from '../../rpc/node.js';
import { Federation } from '../federation.js';
import { DifferentialPrivacy } from '../privacy/differential-privacy.js';
import { FedAvg } from '../strategies/fedavg.js';
import { federationMaker, fixed, FixedLearner, ScriptedLearner } from '../federation.test-support.js';
import type { ClientFailure } from '../round.js';
import type { TrainParams } from '../learner.js';
import { maxAbsDiff, tensor, type Weights } from '../weights.js';
import type { CodecOptions } from './codec-options.js';
import { CODECS_METHOD } from './learner-codecs.js';
import { decodeTensor, encodeTensor, type CodecName, type CodecSettings } from './tensor-codec.js';

const { nodes, federate } = federationMaker();
afterEach(() => nodes.splice(0).forEach((n) => n.close()));

const zero = (): Weights => ({ w: tensor([0, 0, 0, 0]), b: tensor([0]) });
const learners = () => [
  fixed([1, -2, 3, 0.5], 1, 10),
  fixed([3, 2.5, -1, 0.25], -1, 30),
  fixed([0.1, 0, 2, -4], 0.5, 20),
];
const SETTINGS: CodecSettings = { blockSize: 2, fraction: 0.5 };

/** The example-weighted mean of what each learner's update decodes to (the trainer's base is zero). */
function decodedMean(codec: CodecName): Weights {
  const out: Weights = {};
  let total = 0;
  for (const learner of learners()) total += learner.numExamples;
  for (const name of ['w', 'b']) {
    const sum = new Float64Array(name === 'w' ? 4 : 1);
    for (const learner of learners()) {
      const data = learner.update[name]!.data;
      const decoded = decodeTensor(encodeTensor(data, codec, SETTINGS), data.length, SETTINGS);
      decoded.forEach((x, i) => (sum[i]! += (x * learner.numExamples) / total));
    }
    out[name] = tensor(Float32Array.from(sum));
  }
  return out;
}

const failures: ClientFailure[] = [];
const run = async (learnerList: (FixedLearner | ScriptedLearner)[], codecs: CodecOptions, rounds = 1) => {
  const { federation } = await federate(learnerList, {
    rounds,
    initialWeights: zero(),
    codecs: { blockSize: 2, fraction: 0.5, ...codecs },
  });
  federation.events.on('CLIENT_FAILED', (f) => failures.push(f));
  return federation.start();
};
afterEach(() => void failures.splice(0));

describe('a federation with compressed updates', () => {
  it.each(['fp16', 'int8', 'topk'] as const)(
    'up: %s: the aggregate is the example-weighted mean of the decoded updates',
    async (codec) => {
      const result = await run(learners(), { up: codec });
      const expected = decodedMean(codec);
      expect(maxAbsDiff(result.weights, expected)).toBeLessThan(1e-6);
      // And the codec did lose something against the float32 mean, except fp16 on these values.
      const exact = decodedMean('fp16');
      if (codec !== 'fp16') expect(maxAbsDiff(result.weights, exact)).toBeGreaterThan(1e-3);
    },
  );

  it.each(['fp16', 'int8'] as const)(
    'down: %s: every learner trains from the decoded model, its config as sent',
    async (codec) => {
      const seen: TrainParams[] = [];
      const recording = () =>
        new ScriptedLearner(fixed([0, 0, 0, 0], 0, 1), {
          train: (params) => {
            seen.push(params);
            return { weights: params.weights, numExamples: 1 };
          },
        });
      const start: Weights = { w: tensor([0.1, -1 / 3, 1000.5, 2]), b: tensor([7]) };
      const { federation } = await federate([recording(), recording()], {
        rounds: 1,
        initialWeights: start,
        config: { lr: 0.5 },
        codecs: { down: codec, blockSize: 2 },
      });
      await federation.start();
      expect(seen).toHaveLength(2);
      const expectedW = decodeTensor(encodeTensor(start.w!.data, codec, SETTINGS), 4, SETTINGS);
      for (const params of seen) {
        expect(Array.from(params.weights.w!.data)).toEqual(Array.from(expectedW));
        expect(params.weights.w!.shape).toEqual([4]);
        expect(params.config).toEqual({ lr: 0.5 });
      }
      expect(Array.from(expectedW)).not.toEqual(Array.from(start.w!.data));
    },
  );

  it('gives float32 to a learner served without the SDK learner side, and to one that names no known codec', async () => {
    const { federation, trainer } = await federate(learners().slice(0, 2), {
      rounds: 1,
      initialWeights: zero(),
      codecs: { up: 'int8', down: 'fp16', blockSize: 2 },
    });
    // A node serving a learner by itself (no codecs method), and one answering codec names it cannot have.
    const plain = new Node({ id: 'plain', role: 'learner', heartbeat: false });
    plain.serve(fixed([1, 1, 1, 1], 1, 10));
    const odd = new Node({ id: 'odd', role: 'learner', heartbeat: false });
    const oddLearner = fixed([2, 2, 2, 2], 2, 10);
    odd.serve(oddLearner);
    odd.serve({ [CODECS_METHOD]: () => ['zstd', { kind: 'int8' }] }, { methods: [CODECS_METHOD] });
    nodes.push(plain, odd);
    await joinInMemory(trainer, plain, { strict: true });
    await joinInMemory(trainer, odd, { strict: true });
    const result = await federation.start();
    expect(result.history[0]!.results).toBe(4);
    expect(result.history[0]!.failures).toEqual([]);
  });
});

/** A learner that says it supports every codec, then answers `answer` to training. */
async function liar(trainer: Node, answer: unknown): Promise<void> {
  const node = new Node({ id: 'liar', role: 'learner', heartbeat: false });
  nodes.push(node);
  node.serve(new ScriptedLearner(fixed([0, 0, 0, 0], 0, 1), { train: () => answer }));
  node.serve({ [CODECS_METHOD]: () => ['fp16', 'int8', 'topk'] }, { methods: [CODECS_METHOD] });
  await joinInMemory(trainer, node, { strict: true });
}

describe('a learner that claims a codec and sends something else', () => {
  const update = (
    w: unknown,
    b: unknown = { kind: 'int8', scales: new Float32Array(1), values: new Int8Array(1) },
  ) => ({
    numExamples: 5,
    update: { w, b },
  });
  const cases: [string, unknown, RegExp][] = [
    [
      'float32 weights instead of an update',
      { numExamples: 5, weights: zero() },
      /compressed update is missing/,
    ],
    [
      'another codec than asked',
      update({ kind: 'fp16', bits: new Uint16Array(4) }),
      /tensor w is not in int8/,
    ],
    [
      'int8 values of the wrong length',
      update({ kind: 'int8', scales: new Float32Array(2), values: new Int8Array(3) }),
      /Int8Array of 4/,
    ],
    [
      'a NaN scale',
      update({ kind: 'int8', scales: Float32Array.from([NaN, 1]), values: new Int8Array(4) }),
      /scale 0 is NaN/,
    ],
    [
      'a block count that does not match',
      update({ kind: 'int8', scales: new Float32Array(3), values: new Int8Array(4) }),
      /2 blocks of 2/,
    ],
    [
      'a tensor the model does not have',
      {
        numExamples: 5,
        update: {
          ...update({ kind: 'int8', scales: new Float32Array(2), values: new Int8Array(4) }).update,
          x: 1,
        },
      },
      /holds tensors the model does not/,
    ],
    [
      'a missing tensor',
      { numExamples: 5, update: { b: update(0).update.b } },
      /tensor w is not an encoded tensor/,
    ],
    ['no numExamples', { update: update(0).update }, /numExamples/],
  ];
  it.each(cases)(
    '%s: INVALID_RESULT for that learner, the round goes on with the rest',
    async (_, answer, message) => {
      const { federation, trainer } = await federate(learners(), {
        rounds: 1,
        initialWeights: zero(),
        codecs: { up: 'int8', blockSize: 2 },
      });
      federation.events.on('CLIENT_FAILED', (f) => failures.push(f));
      await liar(trainer, answer);
      const result = await federation.start();
      expect(failures).toHaveLength(1);
      expect(failures[0]).toMatchObject({ client: 'liar', code: 'INVALID_RESULT' });
      expect(failures[0]!.message).toMatch(message);
      expect(maxAbsDiff(result.weights, decodedMean('int8'))).toBeLessThan(1e-6);
    },
  );

  it.each([
    [
      'an index out of range',
      { kind: 'topk', indices: Uint32Array.from([1, 9]), values: new Float32Array(2) },
      /index 9 is outside/,
    ],
    [
      'repeated indices',
      { kind: 'topk', indices: Uint32Array.from([1, 1]), values: new Float32Array(2) },
      /strictly ascending/,
    ],
    [
      'unsorted indices',
      { kind: 'topk', indices: Uint32Array.from([3, 1]), values: new Float32Array(2) },
      /strictly ascending/,
    ],
    [
      'more values than k',
      { kind: 'topk', indices: Uint32Array.from([0, 1, 2]), values: new Float32Array(3) },
      /at most 2/,
    ],
    [
      'an infinite value',
      { kind: 'topk', indices: Uint32Array.from([0, 1]), values: Float32Array.from([1, Infinity]) },
      /not finite/,
    ],
  ])('top-k with %s: INVALID_RESULT, the aggregate untouched by it', async (_, w, message) => {
    const { federation, trainer } = await federate(learners(), {
      rounds: 1,
      initialWeights: zero(),
      codecs: { up: 'topk', fraction: 0.5 },
    });
    federation.events.on('CLIENT_FAILED', (f) => failures.push(f));
    await liar(trainer, {
      numExamples: 5,
      update: { w, b: { kind: 'topk', indices: Uint32Array.from([0]), values: Float32Array.from([1]) } },
    });
    const result = await federation.start();
    expect(failures.map((f) => [f.client, f.code])).toEqual([['liar', 'INVALID_RESULT']]);
    expect(failures[0]!.message).toMatch(message);
    expect(maxAbsDiff(result.weights, decodedMean('topk'))).toBeLessThan(1e-6);
  });

  it('top-k during a warm-up: as many values as the round allows, and no more once it allows fewer', async () => {
    // w has 4 values: round 1 allows ceil(0.5 x 4) = 2 of them, round 2 (after a 1-round warm-up) 1.
    const { federation, trainer } = await federate(learners(), {
      rounds: 2,
      initialWeights: zero(),
      codecs: { up: 'topk', fraction: 0.25, warmupRounds: 1, warmupFraction: 0.5 },
    });
    const failedIn: number[] = [];
    federation.events.on('CLIENT_FAILED', (f) => {
      failures.push(f);
      failedIn.push(f.round);
    });
    await liar(trainer, {
      numExamples: 5,
      update: {
        w: { kind: 'topk', indices: Uint32Array.from([0, 1]), values: Float32Array.from([1, 1]) },
        b: { kind: 'topk', indices: Uint32Array.from([0]), values: Float32Array.from([1]) },
      },
    });
    const result = await federation.start();
    expect(result.history.map((h) => h.results)).toEqual([4, 3]);
    expect(failures.map((f) => [f.client, f.code])).toEqual([['liar', 'INVALID_RESULT']]);
    expect(failedIn).toEqual([2]);
    expect(failures[0]!.message).toMatch(/at most 1 position/);
  });
});

describe("updates that would take the running sum past float32's range", () => {
  // Each is finite and passes every check of its own; weighed by 5 examples, it is past 3.4e38.
  it.each([
    [
      'int8 scales just under the largest a block may carry (3.4e38 / 127)',
      'int8',
      { kind: 'int8', scales: Float32Array.from([2.6e36, 2.6e36]), values: new Int8Array(4).fill(127) },
      { kind: 'int8', scales: Float32Array.from([1]), values: Int8Array.from([1]) },
    ],
    [
      'top-k values near the largest float32',
      'topk',
      { kind: 'topk', indices: Uint32Array.from([0, 3]), values: Float32Array.from([3e38, -3e38]) },
      { kind: 'topk', indices: Uint32Array.from([0]), values: Float32Array.from([1]) },
    ],
  ] as const)(
    "%s: INVALID_RESULT for that learner, the aggregate finite and the others' mean",
    async (_, codec, w, b) => {
      const { federation, trainer } = await federate(learners(), {
        rounds: 1,
        initialWeights: zero(),
        codecs: { up: codec, blockSize: 2, fraction: 0.5 },
      });
      federation.events.on('CLIENT_FAILED', (f) => failures.push(f));
      await liar(trainer, { numExamples: 5, update: { w, b } });
      const result = await federation.start();
      expect(failures.map((f) => [f.client, f.code])).toEqual([['liar', 'INVALID_RESULT']]);
      expect(failures[0]!.message).toMatch(/float32/);
      expect(maxAbsDiff(result.weights, decodedMean(codec))).toBeLessThan(1e-6);
    },
  );

  it('float32 weights near the largest float32, from a learner without codecs: the same', async () => {
    const { federation, trainer } = await federate(learners(), { rounds: 1, initialWeights: zero() });
    federation.events.on('CLIENT_FAILED', (f) => failures.push(f));
    const plain = new Node({ id: 'plain', role: 'learner', heartbeat: false });
    nodes.push(plain);
    plain.serve(fixed([3e38, 3e38, -3e38, 0], 3e38, 5));
    await joinInMemory(trainer, plain, { strict: true });
    const result = await federation.start();
    expect(failures.map((f) => [f.client, f.code])).toEqual([['plain', 'INVALID_RESULT']]);
    const honest = learners();
    const total = honest.reduce((n, l) => n + l.numExamples, 0);
    const mean = (name: string) =>
      tensor(
        honest[0]!.update[name]!.data.map((_, i) =>
          honest.reduce((s, l) => s + (l.update[name]!.data[i]! * l.numExamples) / total, 0),
        ),
      );
    expect(maxAbsDiff(result.weights, { w: mean('w'), b: mean('b') })).toBeLessThan(1e-6);
  });
});

describe('codecs with privacy', () => {
  /** The unweighted mean of the decoded updates: DP-FedAvg counts every learner alike. */
  function unweightedDecodedMean(codec: CodecName, settings: CodecSettings): Weights {
    const out: Weights = {};
    for (const name of ['w', 'b']) {
      const sum = new Float64Array(name === 'w' ? 4 : 1);
      for (const learner of learners()) {
        const data = learner.update[name]!.data;
        decodeTensor(encodeTensor(data, codec, settings), data.length, settings).forEach(
          (x, i) => (sum[i]! += x / 3),
        );
      }
      out[name] = tensor(Float32Array.from(sum));
    }
    return out;
  }

  it('central DP clips and sums the decoded int8 updates (noise 1e-9 x clip 100: the mean shows)', async () => {
    const { federation } = await federate(learners(), {
      rounds: 1,
      initialWeights: zero(),
      strategy: new DifferentialPrivacy(new FedAvg(), { noiseMultiplier: 1e-9, clip: 100 }),
      codecs: { up: 'int8', blockSize: 2 },
    });
    const result = await federation.start();
    expect(maxAbsDiff(result.weights, unweightedDecodedMean('int8', SETTINGS))).toBeLessThan(1e-5);
    expect(result.history[0]!.privacy?.noiseMultiplier).toBe(1e-9);
  });

  it('distributed DP: each learner clips and noises its update, then encodes it (top-k of every value here)', async () => {
    const all = { blockSize: 2, fraction: 1 };
    const { federation } = await federate(learners(), {
      rounds: 1,
      initialWeights: zero(),
      strategy: new DifferentialPrivacy(new FedAvg(), {
        noiseMultiplier: 1e-9,
        clip: 100,
        mode: 'distributed',
      }),
      codecs: { up: 'topk', fraction: 1 },
    });
    const result = await federation.start();
    expect(maxAbsDiff(result.weights, unweightedDecodedMean('topk', all))).toBeLessThan(1e-5);
  });

  it('refuses codecs beside secure aggregation, naming both fields', () => {
    const node = new Node({ id: 'trainer', role: 'trainer', heartbeat: false });
    nodes.push(node);
    expect(
      () =>
        new Federation({
          node,
          rounds: 1,
          secureAggregation: { clipRange: 1 },
          codecs: { up: 'topk' },
        }),
    ).toThrow(/federation\.codecs \(up: topk\) cannot run with federation\.secureAggregation/);
  });
});
