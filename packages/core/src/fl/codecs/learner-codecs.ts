import { exposedMethods } from '../../rpc/node.js';
import { OiafedError } from '../../wire/errors.js';
import type { TrainParams, TrainResult } from '../learner.js';
import { firstNonFinite, isPlainObject, type Metrics, type Weights } from '../weights.js';
import { decodeModel, encodeWeights, type EncodedModel, type EncodedWeights } from './encoded-weights.js';
import { ErrorFeedback } from './error-feedback.js';
import { CODEC_NAMES, type CodecName, type CodecSettings } from './tensor-codec.js';

/**
 * The key of `TrainParams.config` under which the trainer asks a learner for codecs: the model in
 * its codec (then `weights` is empty), the codec of the update to send back, and the settings.
 * The learner side removes it before the learner's own `train` sees the config.
 */
export const CODEC_CONFIG_KEY = '$codec';

/** The method a learner's side answers with the codecs it supports: the trainer's first question. */
export const CODECS_METHOD = 'oiafed.codecs';

/** What the trainer puts under `config.$codec`. */
export interface CodecRequest extends CodecSettings {
  /** The codec of the update to send back, as a delta from the model sent. */
  up?: CodecName;
  /** The model to train from, when it was sent compressed. */
  model?: EncodedModel;
}

/** A train answer with a compressed update: the delta from the model sent, in the codec asked for. */
export interface CompressedTrainAnswer {
  numExamples: number;
  metrics?: Metrics;
  update: EncodedWeights;
}

/**
 * A learner as served with its side of compressed updates: it tells which codecs it supports
 * (CODECS_METHOD), decodes a model sent compressed, and sends its update back as the delta from
 * the model it was sent, in the codec asked for. For top-k, what the codec leaves out is kept
 * (error feedback) and added to the next update, in this wrapper: it lives as long as the learner
 * is served, across rounds and reconnects. A request without `config.$codec` passes through unchanged.
 */
export function withLearnerCodecs(learner: object): object {
  const target = learner as Record<string, (...args: unknown[]) => unknown>;
  const served: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of exposedMethods(learner)) served[name] = (...args) => target[name]!(...args);
  const train = served.train;
  if (!train) return served;
  const feedback = new ErrorFeedback();
  served[CODECS_METHOD] = () => [...CODEC_NAMES];
  served.train = (...args: unknown[]) => {
    const params = args[0] as TrainParams | undefined;
    const config: unknown = params?.config;
    if (!isPlainObject(config) || !Object.hasOwn(config, CODEC_CONFIG_KEY)) return train(...args);
    return (async (): Promise<TrainResult | CompressedTrainAnswer> => {
      const request = codecRequestOf(config[CODEC_CONFIG_KEY]);
      const { [CODEC_CONFIG_KEY]: _, ...own } = config;
      const base = request.model ? decodeModel(request.model, request) : params!.weights;
      const result = (await train(
        { ...params, weights: base, config: own },
        ...args.slice(1),
      )) as TrainResult;
      if (!request.up) return result;
      const delta = deltaOf(result.weights, base);
      if (request.up === 'topk') feedback.compensate(delta);
      const update = encodeWeights(delta, request.up, request);
      if (request.up === 'topk') feedback.keep(delta, update, request);
      return {
        numExamples: result.numExamples,
        ...(result.metrics === undefined ? {} : { metrics: result.metrics }),
        update,
      };
    })();
  };
  (served as { [FEEDBACK]?: ErrorFeedback })[FEEDBACK] = feedback;
  return served;
}

/** Where a served learner's error feedback can be read (tests); a symbol, so never a remote method. */
export const FEEDBACK = Symbol('oiafed.errorFeedback');

/** The learner's model minus the one it was sent; INVALID_RESULT when it is not of that layout or finite. */
function deltaOf(weights: Weights, base: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(base)) {
    const own = weights[name]?.data;
    if (own?.length !== t.data.length)
      throw new OiafedError(
        'INVALID_RESULT',
        `the learner's tensor ${name} does not match the model it was sent`,
      );
    if (firstNonFinite(own) >= 0)
      throw new OiafedError('INVALID_RESULT', `the learner's tensor ${name} has a non-finite value`);
    const data = new Float32Array(own.length);
    const b = t.data;
    for (let i = 0; i < data.length; i++) data[i] = own[i]! - b[i]!;
    out[name] = { shape: [...t.shape], data };
  }
  return out;
}

/** The trainer's `$codec` request, checked. */
function codecRequestOf(value: unknown): CodecRequest {
  const v = isPlainObject(value) ? value : {};
  const { up, blockSize, fraction, model } = v;
  if (
    (up !== undefined && !(CODEC_NAMES as readonly unknown[]).includes(up)) ||
    !Number.isInteger(blockSize) ||
    (blockSize as number) < 1 ||
    typeof fraction !== 'number' ||
    !(fraction > 0 && fraction <= 1)
  )
    throw new OiafedError(
      'INVALID_CONFIG',
      `config.${CODEC_CONFIG_KEY} must be { up?: ${CODEC_NAMES.join(' | ')}, blockSize, fraction, model? }`,
    );
  return {
    blockSize: blockSize as number,
    fraction,
    ...(up === undefined ? {} : { up: up as CodecName }),
    ...(model === undefined ? {} : { model: model as EncodedModel }),
  };
}
