import { describe, expect, it } from 'vitest';
import { Codec } from '../../wire/codec.js';
import type { ServerOptimizer, StrategyState } from '../aggregation.js';
import { cloneWeights, tensor, type Weights } from '../weights.js';
import { FedAdagradOptimizer } from './fedadagrad.js';
import { FedAdamOptimizer } from './fedadam.js';
import { FedAvgMOptimizer } from './fedavgm.js';
import { FedYogiOptimizer } from './fedyogi.js';

const model = (values: readonly number[]): Weights => ({ w: tensor(values) });

// The worked example of every test below: a 3-parameter model, two rounds.
// global0 = [1, -2, 0.5]; round 1's aggregate [1.5, -2.25, 0.5], round 2's [1.2, -2, 0.75].
// Expected values are the formulas of Flower's files worked out in float64 (each line shows how);
// the code keeps m, v and the model in float32, hence the tolerance of 1e-6.
const GLOBAL0 = [1, -2, 0.5];
const AGGREGATE1 = [1.5, -2.25, 0.5];
const AGGREGATE2 = [1.2, -2, 0.75];
const CLOSE = 6;

function expectValues(actual: Float32Array | undefined, expected: readonly number[]): void {
  expect(actual).toBeInstanceOf(Float32Array);
  expect(actual!.length).toBe(expected.length);
  expected.forEach((value, i) => expect(actual![i]).toBeCloseTo(value, CLOSE));
}

/** The moments an optimiser saved, by buffer name (`m`, `v`, `buffer`). */
function saved(optimizer: ServerOptimizer, key: string): Float32Array | undefined {
  return (optimizer.state()[key] as Weights | null)?.w?.data;
}

/** Two steps of the worked example; returns the model after each. */
function twoSteps(optimizer: ServerOptimizer): [Weights, Weights] {
  const w1 = optimizer.step(model(GLOBAL0), model(AGGREGATE1));
  const w2 = optimizer.step(w1, model(AGGREGATE2));
  return [w1, w2];
}

describe('FedAdam (Flower fedadam.py: bias-corrected with exponent round + 1)', () => {
  it('follows Flower\u2019s moment updates and bias-corrected step over two rounds, written out', () => {
    const adam = new FedAdamOptimizer(); // eta 0.1, beta1 0.9, beta2 0.99, tau 1e-3
    const w1 = adam.step(model(GLOBAL0), model(AGGREGATE1));
    // delta1 = [0.5, -0.25, 0]
    // m1 = 0.1 * delta1 = [0.05, -0.025, 0]
    // v1 = 0.01 * delta1^2 = [0.0025, 0.000625, 0]
    expectValues(saved(adam, 'm'), [0.05, -0.025, 0]);
    expectValues(saved(adam, 'v'), [0.0025, 0.000625, 0]);
    // lr1 = 0.1 * sqrt(1 - 0.99^2) / (1 - 0.9^2) = 0.1 * 0.14106736 / 0.19 = 0.074245979
    // w1 = x + lr1 * m1 / (sqrt(v1) + 1e-3):
    // 1 + 0.074245979 * 0.05 / 0.051 = 1.0727901753; -2 + 0.074245979 * -0.025 / 0.026 = -2.0713903643; 0.5 + 0 = 0.5
    expectValues(w1.w!.data, [1.0727901753336733, -2.0713903642695644, 0.5]);
    const w2 = adam.step(w1, model(AGGREGATE2));
    // delta2 = [1.2 - 1.0727901753, -2 + 2.0713903643, 0.75 - 0.5] = [0.1272098247, 0.0713903643, 0.25]
    // m2 = 0.9 * m1 + 0.1 * delta2 = [0.0577209825, -0.0153609636, 0.025]
    // v2 = 0.99 * v1 + 0.01 * delta2^2 = [0.0026368234, 0.0006697158, 0.000625]
    expectValues(saved(adam, 'm'), [0.05772098246663265, -0.015360963573043562, 0.025]);
    expectValues(saved(adam, 'v'), [0.002636823394916378, 0.0006697158411054115, 0.000625]);
    // lr2 = 0.1 * sqrt(1 - 0.99^3) / (1 - 0.9^3) = 0.1 * 0.17235138 / 0.271 = 0.063594015
    // w2 = w1 + lr2 * m2 / (sqrt(v2) + 1e-3) = [1.1429087697, -2.1077336108, 0.5611480914]
    expectValues(w2.w!.data, [1.1429087696819573, -2.107733610770806, 0.5611480913518256]);
    expect(adam.state().steps).toBe(2);
  });

  it('moves each coordinate by about 0.74 * eta in the direction of delta at the first step, as Flower\u2019s round + 1 exponent gives', () => {
    const eta = 0.1;
    const adam = new FedAdamOptimizer({ eta });
    const before = [0, 1, -1, 3, 0.25];
    const delta = [10, -10, 100, -0.5, 0];
    const after = adam.step(model(before), model(before.map((x, i) => x + delta[i]!))).w!.data;
    // m1 = 0.1 delta, sqrt(v1) = 0.1 |delta|: the step is lr1 * sign(delta) * 0.1|delta| / (0.1|delta| + tau),
    // with lr1 = eta * sqrt(1 - 0.99^2) / (1 - 0.9^2) = 0.7424598 * eta (Kingma & Ba's exponent t would give eta).
    const lr1 = eta * 0.7424597884034684;
    delta.forEach((d, i) => {
      const moved = after[i]! - before[i]!;
      const expected = d === 0 ? 0 : (lr1 * Math.sign(d) * 0.1 * Math.abs(d)) / (0.1 * Math.abs(d) + 1e-3);
      expect(moved).toBeCloseTo(expected, CLOSE);
      if (Math.abs(d) >= 10) expect(Math.abs(moved) / eta).toBeCloseTo(0.7424597884034684, 2);
    });
  });
});

describe('FedYogi (Flower fedyogi.py: sign-controlled second moment, no bias correction)', () => {
  it('raises v where delta^2 exceeds it and lowers it where it does not, over two rounds written out', () => {
    const yogi = new FedYogiOptimizer(); // eta 0.01, beta1 0.9, beta2 0.99, tau 1e-3
    const [w1, w2] = twoSteps(yogi);
    // Round 1: delta1 = [0.5, -0.25, 0]; m1 = [0.05, -0.025, 0]
    // v1 = 0 - 0.01 * delta1^2 * sign(0 - delta1^2) = 0.01 * delta1^2 = [0.0025, 0.000625, 0]
    // w1 = x + 0.01 * m1 / (sqrt(v1) + 1e-3) = [1 + 0.0005/0.051, -2 - 0.00025/0.026, 0.5] = [1.0098039216,
    // -2.0096153846, 0.5]
    expectValues(w1.w!.data, [1.0098039215686274, -2.0096153846153846, 0.5]);
    // Round 2: delta2 = [1.2 - 1.0098039216, -2 + 2.0096153846, 0.25] = [0.1901960784, 0.0096153846, 0.25]
    // m2 = 0.9 m1 + 0.1 delta2 = [0.0640196078, -0.0215384615, 0.025]
    // delta2^2 = [0.0361745483, 0.0000924556, 0.0625]
    // v2 = v1 - 0.01 delta2^2 sign(v1 - delta2^2):
    //   [0.0025 + 0.000361745483, 0.000625 - 0.000000924556 (v1 > delta2^2: v falls), 0 + 0.000625]
    expectValues(saved(yogi, 'm'), [0.06401960784313723, -0.021538461538461538, 0.025]);
    expectValues(saved(yogi, 'v'), [0.0028617454825067305, 0.0006240754437869828, 0.000625]);
    // w2 = w1 + 0.01 m2 / (sqrt(v2) + 1e-3)
    expectValues(w2.w!.data, [1.0215516550146342, -2.0179053062341317, 0.5096153846153846]);
  });
});

describe('FedAdagrad (Flower fedadagrad.py: v sums delta^2, beta1 0)', () => {
  it('sums squared pseudo-gradients in v over two rounds, written out', () => {
    const adagrad = new FedAdagradOptimizer(); // eta 0.1, beta1 0, tau 1e-3
    const [w1, w2] = twoSteps(adagrad);
    // Round 1: m1 = delta1 = [0.5, -0.25, 0]; v1 = delta1^2 = [0.25, 0.0625, 0]
    // w1 = x + 0.1 m1 / (sqrt(v1) + 1e-3) = [1 + 0.05/0.501, -2 - 0.025/0.251, 0.5]
    expectValues(w1.w!.data, [1.0998003992015968, -2.099601593625498, 0.5]);
    // Round 2: m2 = delta2 = [1.2 - 1.0998003992, -2 + 2.0996015936, 0.25] = [0.1001996008, 0.0996015936, 0.25]
    // v2 = v1 + delta2^2 = [0.25 + 0.0100399600, 0.0625 + 0.0099204775, 0.0625]
    expectValues(saved(adagrad, 'm'), [0.10019960079840318, 0.09960159362549792, 0.25]);
    expectValues(saved(adagrad, 'v'), [0.2600399600001594, 0.07242047745273883, 0.0625]);
    // w2 = w1 + 0.1 m2 / (sqrt(v2) + 1e-3)
    expectValues(w2.w!.data, [1.1194111907700621, -2.062727209809427, 0.599601593625498]);
  });

  it('gives the 0.15 of Flower\u2019s own fedadagrad_test (global 0.1, aggregate 0.6, eta 0.1, tau 0.5)', () => {
    // delta 0.5, m 0.5, v 0.25: 0.1 + 0.1 * 0.5 / (0.5 + 0.5) = 0.15
    const out = new FedAdagradOptimizer({ eta: 0.1, tau: 0.5 }).step(
      model([0.1, 0.1, 0.1, 0.1]),
      model([0.6, 0.6, 0.6, 0.6]),
    );
    expect(Array.from(out.w!.data)).toEqual([0.15, 0.15, 0.15, 0.15].map(Math.fround));
  });
});

describe('FedAvgM (Flower fedavgm.py: PyTorch-style server momentum on global - aggregate)', () => {
  it('is the aggregate itself, to the bit, with momentum 0 and learning rate 1 (the defaults)', () => {
    const fedavgm = new FedAvgMOptimizer();
    const global = model(GLOBAL0);
    const aggregate = model([0.1, 1 / 3, -7.25]);
    const out = fedavgm.step(global, aggregate);
    expect(out.w!.data).not.toBe(aggregate.w!.data);
    expect(bytes(out.w!.data)).toEqual(bytes(aggregate.w!.data));
    expect(fedavgm.state().buffer).toBeNull();
  });

  it('starts the buffer at the first pseudo-gradient and decays it by momentum after, written out', () => {
    const fedavgm = new FedAvgMOptimizer({ serverLearningRate: 0.5, momentum: 0.9 });
    const [w1, w2] = twoSteps(fedavgm);
    // Round 1: g1 = global0 - aggregate1 = [-0.5, 0.25, 0]; buffer1 = g1
    // w1 = global0 - 0.5 buffer1 = [1.25, -2.125, 0.5]
    expectValues(w1.w!.data, [1.25, -2.125, 0.5]);
    // Round 2: g2 = w1 - aggregate2 = [0.05, -0.125, -0.25]
    // buffer2 = 0.9 buffer1 + g2 = [-0.45 + 0.05, 0.225 - 0.125, 0 - 0.25] = [-0.4, 0.1, -0.25]
    // w2 = w1 - 0.5 buffer2 = [1.45, -2.175, 0.625]
    expectValues(saved(fedavgm, 'buffer'), [-0.4, 0.1, -0.25]);
    expectValues(w2.w!.data, [1.45, -2.175, 0.625]);
  });

  it('with momentum 0 moves the learning rate\u2019s share of the way to the aggregate', () => {
    const out = new FedAvgMOptimizer({ serverLearningRate: 0.5 }).step(model(GLOBAL0), model(AGGREGATE1));
    expectValues(out.w!.data, [1.25, -2.125, 0.5]);
  });
});

/** A model with two tensors of more than one dimension, and the aggregate of round `k` for it. */
const GLOBAL = (): Weights => ({
  dense: tensor([0.5, -1, 2, 0, 0.25, -0.75], [2, 3]),
  bias: tensor([0.1, -0.2, 0.3, 0], [4]),
});
function aggregateFor(global: Weights, k: number): Weights {
  const out = cloneWeights(global);
  for (const t of Object.values(out))
    t.data.forEach((x, i) => (t.data[i] = x + Math.sin(7 * k + 3 * i) * 0.3));
  return out;
}

const bytes = (data: Float32Array) => new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
function expectBitIdentical(a: Weights, b: Weights): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  for (const name of Object.keys(a)) {
    expect(a[name]!.shape).toEqual(b[name]!.shape);
    expect(bytes(a[name]!.data)).toEqual(bytes(b[name]!.data));
  }
}

const optimizers: [string, () => ServerOptimizer][] = [
  ['fedadam', () => new FedAdamOptimizer()],
  ['fedyogi', () => new FedYogiOptimizer({ eta: 0.05 })],
  ['fedadagrad', () => new FedAdagradOptimizer({ beta1: 0.5 })],
  ['fedavgm', () => new FedAvgMOptimizer({ serverLearningRate: 0.7, momentum: 0.9 })],
];

describe.each(optimizers)('%s state', (name, make) => {
  it('resumes bit-identically: 4 steps = 2 steps, state through the checkpoint codec, a fresh optimiser, 2 steps', () => {
    let straight = GLOBAL();
    const uninterrupted = make();
    for (let k = 1; k <= 4; k++) straight = uninterrupted.step(straight, aggregateFor(straight, k));

    let resumed = GLOBAL();
    const first = make();
    for (let k = 1; k <= 2; k++) resumed = first.step(resumed, aggregateFor(resumed, k));
    const codec = new Codec();
    const decoded = codec.decodeValue(codec.encodeValue(first.state())) as StrategyState;
    const second = make();
    second.restore(decoded);
    for (let k = 3; k <= 4; k++) resumed = second.step(resumed, aggregateFor(resumed, k));

    expectBitIdentical(resumed, straight);
    expect(second.state().steps).toBe(4);
    expect(codec.encodeValue(second.state())).toEqual(codec.encodeValue(uninterrupted.state()));
  });

  it('keeps outputs in the inputs\u2019 shapes as Float32Array and never modifies its inputs or a state it saved or restored', () => {
    const optimizer = make();
    const global = GLOBAL();
    const aggregate = aggregateFor(global, 1);
    const [globalCopy, aggregateCopy] = [cloneWeights(global), cloneWeights(aggregate)];
    const next = optimizer.step(global, aggregate);
    expectBitIdentical(global, globalCopy);
    expectBitIdentical(aggregate, aggregateCopy);
    expect(next.dense!.shape).toEqual([2, 3]);
    expect(next.bias!.data).toBeInstanceOf(Float32Array);

    const codec = new Codec();
    const state = optimizer.state();
    const savedBytes = codec.encodeValue(state);
    const restored = make();
    restored.restore(state);
    optimizer.step(next, aggregateFor(next, 2));
    restored.step(next, aggregateFor(next, 2));
    expect(codec.encodeValue(state)).toEqual(savedBytes);
  });

  it('refuses a state that is not its own, naming what is wrong, and keeps its own state', () => {
    const optimizer = make();
    optimizer.step(GLOBAL(), aggregateFor(GLOBAL(), 1));
    const good = optimizer.state();
    const before = new Codec().encodeValue(good);
    const buffer = Object.keys(good).find((key) => key !== 'optimizer' && key !== 'steps')!;
    const bad: [unknown, RegExp][] = [
      [null, /not an object/],
      [[good], /not an object/],
      [{ ...good, optimizer: 'other' }, /saved by "other", not /],
      [{ ...good, steps: -1 }, /steps must be an integer >= 0 \(got -1\)/],
      [{ ...good, steps: 1.5 }, /steps must be an integer >= 0/],
      [{ ...good, steps: '2' }, /steps must be an integer >= 0/],
      [
        { ...good, [buffer]: { dense: { shape: [6], data: new Float64Array(6) } } },
        new RegExp(`${buffer}: tensor dense is not \\{ shape, data: Float32Array \\}`),
      ],
      [
        { ...good, [buffer]: { dense: tensor([0, 0, Number.NaN]) } },
        new RegExp(`${buffer}: tensor dense has a non-finite value`),
      ],
      [
        { ...good, [buffer]: { dense: { shape: [7], data: new Float32Array(6) } } },
        /has shape \[7\] \(7 values\) but 6 values/,
      ],
      [{ ...good, steps: 0 }, /before/],
    ];
    for (const [state, message] of bad) {
      expect(() => optimizer.restore(state as StrategyState)).toThrow(
        expect.objectContaining({
          name: 'OiafedError',
          code: 'INVALID_CONFIG',
          message: expect.stringMatching(message),
        }),
      );
      expect(new Codec().encodeValue(optimizer.state())).toEqual(before);
    }
  });

  it('refuses at the next step a restored state for another model, and an aggregate of another layout, without changing its state', () => {
    const optimizer = make();
    optimizer.step(GLOBAL(), aggregateFor(GLOBAL(), 1));
    const other = make();
    other.restore(optimizer.state());
    const smaller = { dense: tensor([1, 2, 3], [3]), bias: tensor([0, 0, 0, 0]) };
    expect(() => other.step(smaller, smaller)).toThrow(
      expect.objectContaining({
        code: 'INVALID_CONFIG',
        message: expect.stringMatching(
          /the state restored from the checkpoint does not fit the model: tensor dense has 6 values, expected 3/,
        ),
      }),
    );
    expect(other.state().steps).toBe(1);
    const global = GLOBAL();
    expect(() => other.step(global, { dense: global.dense! })).toThrow(
      expect.objectContaining({
        code: 'INVALID_RESULT',
        message: expect.stringMatching(/the aggregate does not fit the global model: tensor bias is missing/),
      }),
    );
    expect(other.state().steps).toBe(1);
  });
});

describe('FedOpt state', () => {
  it('refuses moments of different layouts, or one moment without the other', () => {
    const adam = new FedAdamOptimizer();
    adam.step(GLOBAL(), aggregateFor(GLOBAL(), 1));
    const good = adam.state();
    expect(() => new FedAdamOptimizer().restore({ ...good, v: { w: tensor([1]) } })).toThrow(
      /fedadam state in the checkpoint: v does not match the layout of m: tensor dense is missing/,
    );
    expect(() => new FedAdamOptimizer().restore({ ...good, v: null })).toThrow(
      /m and v must both be present after a step and both null before one \(steps 1\)/,
    );
    expect(() => new FedAdamOptimizer().restore({ ...good, m: null, v: null })).toThrow(
      /m and v must both be present/,
    );
    expect(() => new FedYogiOptimizer().restore(good)).toThrow(
      /fedyogi state in the checkpoint: it was saved by "fedadam", not fedyogi/,
    );
  });
});

describe('server optimiser options', () => {
  it('defaults to Flower\u2019s values', () => {
    expect(new FedAdamOptimizer()).toMatchObject({ eta: 0.1, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    expect(new FedYogiOptimizer()).toMatchObject({ eta: 0.01, beta1: 0.9, beta2: 0.99, tau: 1e-3 });
    expect(new FedAdagradOptimizer()).toMatchObject({ eta: 0.1, beta1: 0, tau: 1e-3 });
    expect(new FedAvgMOptimizer()).toMatchObject({ serverLearningRate: 1, momentum: 0 });
  });

  it('refuses invalid numbers as INVALID_CONFIG naming strategy.options.<name>', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => new FedAdamOptimizer({ eta: 0 }),
        /^strategy\.options\.eta must be a finite number > 0 \(got 0\)$/,
      ],
      [
        () => new FedAdamOptimizer({ beta1: 1 }),
        /^strategy\.options\.beta1 must be a number >= 0 and < 1 \(got 1\)$/,
      ],
      [
        () => new FedYogiOptimizer({ beta2: -0.1 }),
        /^strategy\.options\.beta2 must be a number >= 0 and < 1 \(got -0\.1\)$/,
      ],
      [
        () => new FedYogiOptimizer({ tau: Number.NaN }),
        /^strategy\.options\.tau must be a finite number > 0 \(got NaN\)$/,
      ],
      [
        () => new FedAdagradOptimizer({ eta: '0.1' as unknown as number }),
        /^strategy\.options\.eta must be a finite number > 0 \(got "0\.1"\)$/,
      ],
      [
        () => new FedAdagradOptimizer({ beta2: 0.9 } as object),
        /^strategy\.options\.beta2 has no effect on fedadagrad/,
      ],
      [
        () => new FedAvgMOptimizer({ serverLearningRate: Number.POSITIVE_INFINITY }),
        /^strategy\.options\.serverLearningRate must be a finite number > 0 \(got Infinity\)$/,
      ],
      [
        () => new FedAvgMOptimizer({ momentum: 1 }),
        /^strategy\.options\.momentum must be a number >= 0 and < 1 \(got 1\)$/,
      ],
    ];
    for (const [make, message] of cases)
      expect(make).toThrow(
        expect.objectContaining({
          name: 'OiafedError',
          code: 'INVALID_CONFIG',
          message: expect.stringMatching(message),
        }),
      );
  });
});
