import { boundedText } from '../../wire/bounded-text.js';
import { OiafedError } from '../../wire/errors.js';
import { isPlainObject, modelProblem, type Weights } from '../weights.js';
import {
  addDecoded,
  decodeTensor,
  encodedBytes,
  encodedProblem,
  encodeTensor,
  type CodecName,
  type CodecSettings,
  type EncodedTensor,
} from './tensor-codec.js';

/** A model's tensors, each in one codec; the layout (names, shapes) is the model both ends hold. */
export type EncodedWeights = Record<string, EncodedTensor>;

/** The global model as it is sent down in a codec: with its shapes, since the learner may not know them. */
export interface EncodedModel {
  codec: CodecName;
  shapes: Record<string, number[]>;
  tensors: EncodedWeights;
}

/**
 * A learner's update as it arrived compressed, checked: its model is `base` plus the decoded
 * `tensors` (a delta). Aggregations that take it decode it straight into their sum.
 */
export interface CompressedUpdate {
  readonly base: Weights;
  readonly codec: CodecName;
  readonly settings: CodecSettings;
  readonly tensors: EncodedWeights;
}

export function encodeWeights(weights: Weights, codec: CodecName, settings: CodecSettings): EncodedWeights {
  const out: EncodedWeights = {};
  for (const [name, t] of Object.entries(weights)) out[name] = encodeTensor(t.data, codec, settings);
  return out;
}

export function encodeModel(weights: Weights, codec: CodecName, settings: CodecSettings): EncodedModel {
  const shapes: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(weights)) shapes[name] = [...t.shape];
  return { codec, shapes, tensors: encodeWeights(weights, codec, settings) };
}

/** Payload bytes of the encoded tensors (their typed arrays), for the figures. */
export function encodedWeightsBytes(tensors: EncodedWeights): number {
  let bytes = 0;
  for (const t of Object.values(tensors)) bytes += encodedBytes(t);
  return bytes;
}

/**
 * Why `value` (from a peer) is not `layout`'s tensors in `codec`, or undefined: the same names, and
 * each tensor checked to the last index and scale before anything is decoded from it.
 */
export function encodedWeightsProblem(
  value: unknown,
  layout: Weights,
  codec: CodecName,
  settings: CodecSettings,
): string | undefined {
  if (!isPlainObject(value)) return 'the compressed update is missing or not a plain object';
  const names = Object.keys(layout);
  for (const name of names) {
    const t = Object.hasOwn(value, name) ? value[name] : undefined;
    const problem = encodedProblem(t, layout[name]!.data.length, codec, settings);
    if (problem) return `compressed tensor ${boundedText(name)} ${problem}`;
  }
  if (Object.keys(value).length !== names.length)
    return 'the compressed update holds tensors the model does not';
  return undefined;
}

/** `base + decoded delta` as float32: for what must hold each update (robust aggregations, FedBuff). */
export function decodeUpdate(update: CompressedUpdate): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(update.base)) {
    const data = t.data.slice();
    addDecoded(data, update.tensors[name]!, 1, update.settings);
    out[name] = { shape: [...t.shape], data };
  }
  return out;
}

/** The model a trainer sent down, decoded on the learner's side; INVALID_CONFIG when it is not one. */
export function decodeModel(value: unknown, settings: CodecSettings): Weights {
  const model = isPlainObject(value) ? value : {};
  const { codec, shapes, tensors } = model;
  if ((codec !== 'fp16' && codec !== 'int8') || !isPlainObject(shapes) || !isPlainObject(tensors))
    throw new OiafedError(
      'INVALID_CONFIG',
      'the model sent down is not { codec: fp16 | int8, shapes, tensors }',
    );
  const out: Weights = {};
  for (const name of Object.keys(shapes)) {
    const shape = shapes[name];
    const size = Array.isArray(shape) ? shape.reduce((a: number, b: unknown) => a * Number(b), 1) : NaN;
    const problem = Number.isSafeInteger(size)
      ? encodedProblem(tensors[name], size, codec, settings)
      : 'has no valid shape';
    if (problem)
      throw new OiafedError('INVALID_CONFIG', `the model sent down: tensor ${boundedText(name)} ${problem}`);
    out[name] = {
      shape: [...(shape as number[])],
      data: decodeTensor(tensors[name] as EncodedTensor, size, settings),
    };
  }
  const problem = modelProblem(out);
  if (problem) throw new OiafedError('INVALID_CONFIG', `the model sent down: ${problem}`);
  return out;
}
