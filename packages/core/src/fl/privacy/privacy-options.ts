import { OiafedError } from '../../wire/errors.js';
import type { UniformSource } from './gaussian-noise.js';

/**
 * Adaptive clipping (Andrew et al. 2021, "Differentially Private Learning with Adaptive
 * Clipping"): the clip norm follows a quantile of the updates' norms, estimated privately from a
 * noised count of the updates it did not clip.
 */
export interface AdaptiveClipping {
  /** The clip norm of the first round. */
  initial: number;
  /** The share of updates the clip norm aims to leave unclipped, in [0, 1]. Default 0.5 (the median). */
  targetQuantile?: number;
  /** The geometric step of the clip norm per round (eta_C). Default 0.2. */
  learningRate?: number;
  /**
   * Standard deviation of the noise on the count of unclipped updates (sigma_b). Default: a twentieth of
   * `expectedClients` (the paper's advice), which must then be set. The updates' noise is raised so the
   * round's two releases together have the noise multiplier asked: needs noiseMultiplier < 2 sigma_b.
   */
  countNoise?: number;
}

/**
 * Client-level differential privacy (DP-FedAvg, McMahan et al. 2018): every learner's update is
 * clipped to an L2 norm, Gaussian noise of std noiseMultiplier x clip is added to their sum, and an
 * RDP accountant reports the (epsilon, delta) spent after every round.
 */
export interface DifferentialPrivacyOptions {
  /** z: the noise's standard deviation over the clip norm. Over 0. */
  noiseMultiplier: number;
  /** The L2 norm every update (learner's model minus the global one) is clipped to: fixed, or adaptive. */
  clip: number | AdaptiveClipping;
  /** The delta epsilon is reported at. Default 1e-5 (keep it below 1 / the number of learners). */
  delta?: number;
  /** An epsilon budget: the run stops (reason 'budget') before a round that would spend past it. */
  budget?: number;
  /**
   * 'central' (default): the trainer clips every update and adds the noise, so it sees each learner's
   * update. 'distributed': every learner clips its own update and adds its share of the noise (std
   * z x clip / sqrt(expected learners)), so the sum is private even from a trainer that sees only the
   * sum (secure aggregation). Distributed mode takes a fixed clip.
   */
  mode?: 'central' | 'distributed';
  /**
   * The probability that a learner takes part in a round, for the accountant's amplification by
   * sampling. Default 1 (no amplification claimed: right for every selection). Set it to the selection
   * fraction only when learners are sampled independently from a fixed population.
   */
  sampleRate?: number;
  /**
   * Learners a round expects. Central: the mean's fixed denominator (McMahan et al.'s estimator, whose
   * sensitivity holds however many learners answer); default: the number of updates received, as FedAvg
   * divides. Distributed: how many learners share the noise; default the round's selected learners.
   */
  expectedClients?: number;
  /** Where the noise comes from: uniform numbers in [0, 1). Default the CSPRNG; tests pass a seeded source. */
  random?: UniformSource;
}

/** The defaults of `DifferentialPrivacyOptions` (and of `federation.privacy` in a run config). */
export const DEFAULT_PRIVACY = {
  delta: 1e-5,
  mode: 'central',
  sampleRate: 1,
  targetQuantile: 0.5,
  learningRate: 0.2,
} as const;

/** The options, defaults filled and ranges checked. */
export interface ResolvedPrivacy {
  noiseMultiplier: number;
  clip: number | Required<AdaptiveClipping>;
  delta: number;
  budget: number | undefined;
  mode: 'central' | 'distributed';
  sampleRate: number;
  expectedClients: number | undefined;
}

/** Checks the options and fills their defaults; INVALID_CONFIG names the first field that is wrong. */
export function resolvePrivacy(options: DifferentialPrivacyOptions, where = 'privacy'): ResolvedPrivacy {
  const field = (name: string) => `${where}.${name}`;
  const z = options.noiseMultiplier;
  if (!(z > 0) || !Number.isFinite(z)) throw invalid(field('noiseMultiplier'), 'a number > 0', z);
  const delta = options.delta ?? DEFAULT_PRIVACY.delta;
  if (!(delta > 0 && delta < 1)) throw invalid(field('delta'), 'in (0, 1)', delta);
  const budget = options.budget;
  if (budget !== undefined && !(budget > 0)) throw invalid(field('budget'), 'an epsilon > 0', budget);
  const mode: string = options.mode ?? DEFAULT_PRIVACY.mode;
  if (mode !== 'central' && mode !== 'distributed')
    throw invalid(field('mode'), "'central' or 'distributed'", mode);
  const sampleRate = options.sampleRate ?? DEFAULT_PRIVACY.sampleRate;
  if (!(sampleRate > 0 && sampleRate <= 1)) throw invalid(field('sampleRate'), 'in (0, 1]', sampleRate);
  const expectedClients = options.expectedClients;
  if (expectedClients !== undefined && !(Number.isSafeInteger(expectedClients) && expectedClients >= 1))
    throw invalid(field('expectedClients'), 'a positive integer', expectedClients);
  let clip: ResolvedPrivacy['clip'];
  if (typeof options.clip === 'number') {
    if (!(options.clip > 0) || !Number.isFinite(options.clip))
      throw invalid(field('clip'), 'a number > 0', options.clip);
    clip = options.clip;
  } else {
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- options may come from JavaScript
    if (typeof options.clip !== 'object' || options.clip === null)
      throw invalid(
        field('clip'),
        'a number > 0 or { initial, targetQuantile, learningRate, countNoise }',
        options.clip,
      );
    if (mode === 'distributed')
      throw invalid(
        field('clip'),
        'a fixed number in distributed mode (learners clip before the trainer could adapt it)',
        options.clip,
      );
    clip = adaptiveOf(options.clip, z, expectedClients, field);
  }
  return { noiseMultiplier: z, clip, delta, budget, mode, sampleRate, expectedClients };
}

function adaptiveOf(
  raw: AdaptiveClipping,
  z: number,
  expectedClients: number | undefined,
  field: (name: string) => string,
): Required<AdaptiveClipping> {
  const { initial } = raw;
  if (!(initial > 0) || !Number.isFinite(initial))
    throw invalid(field('clip.initial'), 'a number > 0', initial);
  const targetQuantile = raw.targetQuantile ?? DEFAULT_PRIVACY.targetQuantile;
  if (!(targetQuantile >= 0 && targetQuantile <= 1))
    throw invalid(field('clip.targetQuantile'), 'in [0, 1]', targetQuantile);
  const learningRate = raw.learningRate ?? DEFAULT_PRIVACY.learningRate;
  if (!(learningRate > 0) || !Number.isFinite(learningRate))
    throw invalid(field('clip.learningRate'), 'a number > 0', learningRate);
  const countNoise = raw.countNoise ?? (expectedClients === undefined ? undefined : expectedClients / 20);
  if (countNoise === undefined)
    throw invalid(
      field('clip.countNoise'),
      'set, or expectedClients set (it defaults to expectedClients / 20)',
      countNoise,
    );
  if (!(countNoise > z / 2) || !Number.isFinite(countNoise))
    throw invalid(
      field('clip.countNoise'),
      `more than noiseMultiplier / 2 (${z / 2}): the count's noise takes part of the privacy budget`,
      countNoise,
    );
  return { initial, targetQuantile, learningRate, countNoise };
}

function invalid(field: string, expected: string, got: unknown): OiafedError {
  return new OiafedError('INVALID_CONFIG', `${field} must be ${expected} (got ${JSON.stringify(got)})`);
}
