import type { Node } from '../../rpc/node.js';
import type { CallOptions } from '../../rpc/proxy.js';
import type { NodeId } from '../../wire/envelope.js';
import { asOiafedError } from '../../wire/errors.js';
import type { TrainParams } from '../learner.js';
import type { Weights } from '../weights.js';
import { roundSettings, type ResolvedCodecs } from './codec-options.js';
import { encodeModel, type EncodedModel } from './encoded-weights.js';
import { CODEC_CONFIG_KEY, CODECS_METHOD, type CodecRequest } from './learner-codecs.js';
import { CODEC_NAMES, type CodecName, type CodecSettings } from './tensor-codec.js';

/** A training request as it travels to one learner, and the codec its answer must come in. */
export interface WireTrainRequest {
  params: TrainParams;
  /** The codec of the update the learner was asked for; undefined: float32 weights, as without compression. */
  up?: CodecName;
}

/**
 * The trainer's side of compressed updates: which codecs each learner supports (asked once per
 * registration, CODECS_METHOD; a learner that does not answer it gets float32), and each training
 * request as it travels: the model encoded once per model version (every learner of a round gets
 * the same encoded object), the codec of the update asked for.
 */
export class Compression {
  readonly options: ResolvedCodecs;
  readonly #node: Node;
  /** By the registry's entry, so a learner that registers again (maybe another program) is asked again. */
  readonly #supported = new WeakMap<object, ReadonlySet<CodecName>>();
  readonly #models = new WeakMap<Weights, Map<CodecName, EncodedModel>>();

  constructor(node: Node, options: ResolvedCodecs) {
    this.#node = node;
    this.options = options;
  }

  /** The codecs `client` supports, from what it answered (only known names count; anything else: none). */
  async supported(client: NodeId, options: CallOptions): Promise<ReadonlySet<CodecName>> {
    const entry = this.#node.registry.get(client);
    const known = entry && this.#supported.get(entry);
    if (known) return known;
    let answer: unknown = [];
    try {
      answer = await this.#node.call(client, CODECS_METHOD, [], options);
    } catch (error) {
      // A learner served without the SDK's learner side has no such method: it gets float32.
      if (asOiafedError(error).code !== 'METHOD_NOT_FOUND') throw error;
    }
    const codecs = new Set<CodecName>();
    if (Array.isArray(answer))
      for (const name of answer.slice(0, 16))
        if ((CODEC_NAMES as readonly unknown[]).includes(name)) codecs.add(name as CodecName);
    if (entry) this.#supported.set(entry, codecs);
    return codecs;
  }

  /**
   * The settings of `round`'s requests, and the ones its answers are checked against: a learner
   * may send no more top-k values than the round it was asked in allows.
   */
  settings(round: number): CodecSettings {
    return roundSettings(this.options, round);
  }

  /** `params` as they travel to a learner that supports `codecs`. */
  request(params: TrainParams, codecs: ReadonlySet<CodecName>): WireTrainRequest {
    const { down, up } = this.options;
    const settings = this.settings(params.round);
    const sendDown = down !== undefined && codecs.has(down) ? down : undefined;
    const askUp = up !== undefined && codecs.has(up) ? up : undefined;
    if (!sendDown && !askUp) return { params };
    const request: CodecRequest = {
      ...settings,
      ...(askUp ? { up: askUp } : {}),
      ...(sendDown ? { model: this.#encoded(params.weights, sendDown) } : {}),
    };
    return {
      params: {
        ...params,
        weights: sendDown ? {} : params.weights,
        config: { ...params.config, [CODEC_CONFIG_KEY]: request },
      },
      ...(askUp ? { up: askUp } : {}),
    };
  }

  /** The model in `codec`, encoded once for every request that sends this very model. */
  #encoded(weights: Weights, codec: CodecName): EncodedModel {
    let byCodec = this.#models.get(weights);
    if (!byCodec) this.#models.set(weights, (byCodec = new Map<CodecName, EncodedModel>()));
    let model = byCodec.get(codec);
    if (!model) byCodec.set(codec, (model = encodeModel(weights, codec, this.options.settings)));
    return model;
  }
}
