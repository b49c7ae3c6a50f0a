import { boundedText } from '../wire/bounded-text.js';
import { encodedWeightsProblem } from './codecs/encoded-weights.js';
import type { CompressedTrainAnswer } from './codecs/learner-codecs.js';
import type { CodecName, CodecSettings } from './codecs/tensor-codec.js';
import { OiafedError } from '../wire/errors.js';
import type { EvaluateResult, TrainResult } from './learner.js';
import { firstNonFinite, isPlainObject, layoutMismatch, type Weights } from './weights.js';

/** Most metrics one result may report, and the longest name one may have. */
export const MAX_METRICS = 64;
export const MAX_METRIC_NAME = 128;

/**
 * What a learner's answer must be to count. Learners are untrusted (a browser tab is whoever opened
 * the page), so every result is checked here, on the way to any trainer, before it can reach an
 * aggregate, a metric, an event or a checkpoint. A failed check is INVALID_RESULT: that learner
 * failed, the round goes on.
 */
export interface ResultLimits {
  /** Largest `numExamples` a result may claim (FedAvg weighs updates by it). */
  maxExamples: number;
}

/** No real federation's learner holds a billion examples; a claim past it is a lie to outweigh the rest. */
export const DEFAULT_MAX_EXAMPLES = 1_000_000_000;

/** A train result: the model's layout with finite values, 1..maxExamples examples, valid metrics. */
export function assertTrainResult(
  result: unknown,
  model: Weights,
  limits: ResultLimits,
): asserts result is TrainResult {
  if (!isPlainObject(result)) throw invalid(`train result is ${boundedText(result, 64)}, not an object`);
  assertExamples(result.numExamples, 1, limits);
  const mismatch = layoutMismatch(model, result.weights);
  if (mismatch) throw invalid(mismatch);
  const weights = result.weights as Weights;
  for (const name of Object.keys(model)) {
    const at = firstNonFinite(weights[name]!.data);
    if (at >= 0)
      throw invalid(
        `tensor ${boundedText(name)} has a non-finite value (${weights[name]!.data[at]}) at index ${at}`,
      );
  }
  assertMetrics(result.metrics);
}

/**
 * A train answer with a compressed update (the learner was asked for codec `codec`): 1..maxExamples
 * examples, valid metrics, and an update of the model's layout whose every length, index and scale
 * is checked before anything is decoded from it.
 */
export function assertCompressedTrainAnswer(
  result: unknown,
  model: Weights,
  codec: CodecName,
  settings: CodecSettings,
  limits: ResultLimits,
): asserts result is CompressedTrainAnswer {
  if (!isPlainObject(result)) throw invalid(`train result is ${boundedText(result, 64)}, not an object`);
  assertExamples(result.numExamples, 1, limits);
  const problem = encodedWeightsProblem(result.update, model, codec, settings);
  if (problem) throw invalid(problem);
  assertMetrics(result.metrics);
}

/**
 * An evaluate result: 0..maxExamples examples and valid metrics. Zero is allowed, as in Flower: a
 * learner without local test data still answers, and weighs nothing in the example-weighted means.
 */
export function assertEvaluateResult(
  result: unknown,
  limits: ResultLimits,
): asserts result is EvaluateResult {
  if (!isPlainObject(result)) throw invalid(`evaluate result is ${boundedText(result, 64)}, not an object`);
  assertExamples(result.numExamples, 0, limits);
  assertMetrics(result.metrics);
}

function assertExamples(value: unknown, least: number, { maxExamples }: ResultLimits): void {
  if (typeof value === 'number' && Number.isInteger(value) && value >= least && value <= maxExamples) return;
  throw invalid(
    `numExamples must be an integer from ${least} to ${maxExamples} (got ${boundedText(value, 64)})`,
  );
}

/** Absent, or a plain object of at most MAX_METRICS finite numbers under short printable names. */
function assertMetrics(metrics: unknown): void {
  if (metrics === undefined) return;
  if (!isPlainObject(metrics)) throw invalid(`metrics are ${boundedText(metrics, 64)}, not an object`);
  const names = Object.keys(metrics);
  if (names.length > MAX_METRICS) throw invalid(`${names.length} metrics, more than ${MAX_METRICS}`);
  for (const name of names) {
    // `__proto__` would be read as the prototype by every `out[name] = ...` downstream.
    if (name.length === 0 || name === '__proto__' || boundedText(name, MAX_METRIC_NAME) !== name) {
      throw invalid(
        `metric name ${JSON.stringify(boundedText(name, 64))} is empty, reserved, longer than ${MAX_METRIC_NAME} characters or holds control characters`,
      );
    }
    const value = metrics[name];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw invalid(`metric ${name} is ${boundedText(value, 64)}, not a finite number`);
  }
}

function invalid(message: string): OiafedError {
  return new OiafedError('INVALID_RESULT', message);
}
