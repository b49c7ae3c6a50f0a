import { OiafedError } from '../../wire/errors.js';
import { exposedMethods } from '../../rpc/node.js';
import type { TrainParams, TrainResult } from '../learner.js';
import { isPlainObject, type Weights } from '../weights.js';
import { clippedUpdate } from './clipping.js';
import { GaussianNoise, type UniformSource } from './gaussian-noise.js';

/**
 * The key of `TrainParams.config` under which a trainer in distributed DP mode tells each learner
 * its part: the clip norm and the std of the noise share it adds. The `$` keeps it apart from the
 * run's hyper-parameters; the learner side removes it before the learner's own `train` sees the config.
 */
export const PRIVACY_CONFIG_KEY = '$privacy';

/** A learner's part of distributed DP in one round. */
export interface LearnerPrivacy {
  /** The L2 norm its update is clipped to. */
  clip: number;
  /** The std of the Gaussian noise it adds to every value of its clipped update. */
  noiseStd: number;
}

/**
 * A learner as served with its side of distributed differential privacy: when a training request
 * carries `config.$privacy`, the learner trains as usual (without that key in its config), then its
 * update (its model minus the one it was sent) is clipped to `clip` and noised with std `noiseStd`
 * before it leaves: the trainer, or secure aggregation's sum, never holds the unclipped update.
 * Every other method, and any request without the key, passes through unchanged.
 */
export function withLearnerPrivacy(learner: object, random?: UniformSource): object {
  const target = learner as Record<string, (...args: unknown[]) => unknown>;
  const served: Record<string, (...args: unknown[]) => unknown> = {};
  for (const name of exposedMethods(learner)) served[name] = (...args) => target[name]!(...args);
  const train = served.train;
  if (!train) return served;
  let noise: GaussianNoise | undefined;
  // Not async itself: a request without the key reaches the learner's train as it would unwrapped,
  // in the same microtask, so the order in which learners' results arrive does not change.
  served.train = (...args: unknown[]) => {
    const params = args[0] as TrainParams | undefined;
    const config: unknown = params?.config;
    if (!isPlainObject(config) || !Object.hasOwn(config, PRIVACY_CONFIG_KEY)) return train(...args);
    return (async () => {
      const share = learnerPrivacyOf(config[PRIVACY_CONFIG_KEY]);
      const { [PRIVACY_CONFIG_KEY]: _, ...own } = config;
      const result = (await train({ ...params, config: own }, ...args.slice(1))) as TrainResult;
      noise ??= new GaussianNoise(random);
      return { ...result, weights: privatized(result.weights, params!.weights, share, noise) };
    })();
  };
  return served;
}

/** `base` plus the update clipped and noised: what leaves the learner. */
function privatized(
  weights: Weights,
  base: Weights,
  { clip, noiseStd }: LearnerPrivacy,
  noise: GaussianNoise,
): Weights {
  for (const [name, t] of Object.entries(base)) {
    const own = weights[name];
    if (own?.data.length !== t.data.length)
      throw new OiafedError(
        'INVALID_RESULT',
        `the learner's tensor ${name} does not match the model it was sent`,
      );
  }
  const update = clippedUpdate(weights, base, clip);
  for (const [name, t] of Object.entries(update)) {
    noise.add(t.data, noiseStd);
    const b = base[name]!.data;
    for (let i = 0; i < b.length; i++) t.data[i]! += b[i]!;
  }
  return update;
}

/** The trainer's `$privacy` setting, checked: it decides how much of this learner's update leaves. */
function learnerPrivacyOf(value: unknown): LearnerPrivacy {
  const v = isPlainObject(value) ? value : {};
  const { clip, noiseStd } = v;
  if (
    typeof clip !== 'number' ||
    !(clip > 0) ||
    !Number.isFinite(clip) ||
    typeof noiseStd !== 'number' ||
    !(noiseStd >= 0) ||
    !Number.isFinite(noiseStd)
  )
    throw new OiafedError(
      'INVALID_CONFIG',
      `config.${PRIVACY_CONFIG_KEY} must be { clip > 0, noiseStd >= 0 }`,
    );
  return { clip, noiseStd };
}
