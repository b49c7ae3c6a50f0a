import { describe, expect, it } from 'vitest';
import { assertEvaluateResult, assertTrainResult, MAX_METRICS } from './result-validation.js';
import { firstNonFinite, modelProblem, tensor, type Weights } from './weights.js';

const model = (): Weights => ({ w: tensor([0, 0, 0, 0, 0, 0], [2, 3]), b: tensor([0], [1]) });
const limits = { maxExamples: 1_000 };
const good = () => ({ weights: model(), numExamples: 10, metrics: { loss: 0.5 } });

/** The INVALID_RESULT message `check` throws, or 'valid'. */
function verdict(check: () => void): string {
  try {
    check();
    return 'valid';
  } catch (error) {
    expect(error).toMatchObject({ code: 'INVALID_RESULT' });
    return (error as Error).message;
  }
}
const train = (result: unknown) => verdict(() => assertTrainResult(result, model(), limits));
const evaluate = (result: unknown) => verdict(() => assertEvaluateResult(result, limits));

describe('train result validation', () => {
  it('accepts a result of the model layout with finite values, metrics optional', () => {
    expect(train(good())).toBe('valid');
    expect(train({ weights: model(), numExamples: 1 })).toBe('valid');
    expect(train({ ...good(), numExamples: 1_000 })).toBe('valid');
  });

  it('refuses a result that is not an object', () => {
    expect(train(null)).toMatch(/train result is null, not an object/);
    expect(train('weights')).toMatch(/not an object/);
    expect(train([good()])).toMatch(/\[array of 1\], not an object/);
  });

  it('refuses numExamples that is not an integer from 1 to maxExamples', () => {
    for (const numExamples of [0, -1, 1.5, 1e30, 1_001, Number.NaN, Infinity, '10', undefined]) {
      expect(train({ ...good(), numExamples })).toMatch(/numExamples must be an integer from 1 to 1000/);
    }
  });

  it('refuses NaN and infinite weights, naming the tensor and the index', () => {
    const nan = good();
    nan.weights.w!.data[4] = Number.NaN;
    expect(train(nan)).toBe('tensor w has a non-finite value (NaN) at index 4');
    const inf = good();
    inf.weights.b!.data[0] = -Infinity;
    expect(train(inf)).toBe('tensor b has a non-finite value (-Infinity) at index 0');
  });

  it('refuses weights of another layout: names, lengths, shapes or dtype', () => {
    const { b } = model();
    expect(train({ ...good(), weights: { b } })).toMatch(/tensor w is missing/);
    expect(train({ ...good(), weights: { ...model(), extra: b } })).toMatch(/unexpected tensors: extra/);
    expect(train({ ...good(), weights: { ...model(), w: tensor([1, 2, 3], [3]) } })).toMatch(
      /tensor w has 3 values, expected 6/,
    );
    expect(train({ ...good(), weights: { ...model(), w: tensor([1, 2, 3, 4, 5, 6], [3, 2]) } })).toMatch(
      /tensor w has shape \[3, 2\], expected \[2, 3\]/,
    );
    expect(
      train({ ...good(), weights: { ...model(), w: { shape: [2, 3], data: new Float64Array(6) } } }),
    ).toMatch(/not a Float32Array/);
    expect(train({ ...good(), weights: null })).toMatch(/weights are missing/);
    // A name only the prototype has is missing, not found.
    expect(
      verdict(() => assertTrainResult({ ...good(), weights: {} }, { constructor: tensor([1]) }, limits)),
    ).toMatch(/tensor constructor is missing/);
  });

  it('refuses metrics that are not a few finite numbers under short printable names', () => {
    expect(train({ ...good(), metrics: { loss: Number.NaN } })).toMatch(
      /metric loss is NaN, not a finite number/,
    );
    expect(train({ ...good(), metrics: { loss: '0.1' } })).toMatch(
      /metric loss is 0\.1, not a finite number/,
    );
    expect(train({ ...good(), metrics: [1, 2] })).toMatch(/metrics are \[array of 2\], not an object/);
    expect(train({ ...good(), metrics: null })).toMatch(/metrics are null/);
    const many = Object.fromEntries(Array.from({ length: MAX_METRICS + 1 }, (_, i) => [`m${i}`, i]));
    expect(train({ ...good(), metrics: many })).toMatch(/65 metrics, more than 64/);
    expect(train({ ...good(), metrics: { ['x'.repeat(129)]: 1 } })).toMatch(/longer than 128 characters/);
    expect(train({ ...good(), metrics: { '\u001b[2Jloss': 1 } })).toMatch(/holds control characters/);
    expect(train({ ...good(), metrics: JSON.parse('{"__proto__": 1}') })).toMatch(/reserved/);
  });
});

describe('evaluate result validation', () => {
  it('accepts 0 to maxExamples examples: a learner without test data weighs nothing', () => {
    expect(evaluate({ numExamples: 0, metrics: {} })).toBe('valid');
    expect(evaluate({ numExamples: 50, metrics: { accuracy: 0.9 } })).toBe('valid');
  });

  it('refuses null, a bad numExamples and bad metrics', () => {
    expect(evaluate(null)).toMatch(/evaluate result is null, not an object/);
    expect(evaluate({ numExamples: 1e30, metrics: {} })).toMatch(
      /numExamples must be an integer from 0 to 1000 \(got 1e\+30\)/,
    );
    expect(evaluate({ numExamples: -1, metrics: {} })).toMatch(/numExamples/);
    expect(evaluate({ numExamples: 5, metrics: { accuracy: Infinity } })).toMatch(
      /metric accuracy is Infinity/,
    );
  });
});

describe('a starting model from a learner', () => {
  it('is a non-empty set of Float32Array tensors whose shapes hold their values, all finite', () => {
    expect(modelProblem(model())).toBeUndefined();
    expect(modelProblem(null)).toMatch(/not a plain object/);
    expect(modelProblem({})).toMatch(/no tensor/);
    expect(modelProblem({ w: { shape: [2, 2], data: new Float32Array(3) } })).toMatch(
      /shape \[2, 2\] \(4 values\) but 3 values/,
    );
    expect(modelProblem({ w: { shape: [-1, -3], data: new Float32Array(3) } })).toMatch(
      /not up to 32 non-negative integers/,
    );
    expect(modelProblem({ w: { shape: '3', data: new Float32Array(3) } })).toMatch(
      /has shape 3, not up to 32/,
    );
    expect(modelProblem({ w: { shape: [3], data: [1, 2, 3] } })).toMatch(
      /not \{ shape, data: Float32Array \}/,
    );
    expect(modelProblem({ w: tensor([1, Number.NaN]) })).toMatch(/non-finite value \(NaN\) at index 1/);
    expect(modelProblem({ 'a\nb': tensor([1]) })).toMatch(/control characters/);
  });
});

describe('firstNonFinite', () => {
  it('finds the first NaN or infinity, and -1 when every value is finite', () => {
    const data = new Float32Array(1_000).fill(1.5);
    expect(firstNonFinite(data)).toBe(-1);
    data[700] = Infinity;
    data[900] = Number.NaN;
    expect(firstNonFinite(data)).toBe(700);
    expect(firstNonFinite(new Float32Array([3.4e38, -0, 1e-45]))).toBe(-1);
  });
});
