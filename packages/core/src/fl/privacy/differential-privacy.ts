import type { NodeId } from '../../wire/envelope.js';
import { OiafedError } from '../../wire/errors.js';
import type { Aggregate, Aggregation, StrategyState } from '../aggregation.js';
import type { Cohort } from '../cohort.js';
import type { EvaluateParams, TrainParams } from '../learner.js';
import type { RoundSummary } from '../round.js';
import { Strategy, type ClientEvaluation, type RoundStart } from '../strategy.js';
import type { Metrics, Weights } from '../weights.js';
import { ClippedSum } from './clipped-sum.js';
import { GaussianNoise } from './gaussian-noise.js';
import { PRIVACY_CONFIG_KEY, type LearnerPrivacy } from './learner-privacy.js';
import { resolvePrivacy, type DifferentialPrivacyOptions, type ResolvedPrivacy } from './privacy-options.js';
import { RdpAccountant } from './rdp-accountant.js';
import type { RoundPrivacy } from './round-privacy.js';

/**
 * Client-level differential privacy around a strategy whose aggregate is a mean of the updates
 * (FedAvg, FedProx, FedAvgM, FedAdagrad, FedAdam, FedYogi): DP-FedAvg (McMahan et al. 2018,
 * "Learning Differentially Private Recurrent Language Models"). Each learner's update (its model
 * minus the global one) is clipped to L2 norm C, the clipped updates are summed as they arrive (one
 * model of memory), Gaussian noise of std z·C is added to the sum, and the noised sum over the
 * round's count (or `expectedClients`) is the mean update the wrapped strategy steps with. Every
 * learner counts alike, whatever its example count: a weight by examples would let one learner move
 * the sum by more than C.
 *
 * The clip is fixed, or adaptive (Andrew et al. 2021): it moves each round toward the
 * `targetQuantile` of the update norms, from a noised count of unclipped updates. In distributed
 * mode the learners clip and noise their own updates (the SDK's learner side does it) and the
 * trainer only sums. An RDP accountant (Opacus's) reports epsilon at delta in every round's
 * summary; with a `budget` the run stops before a round that would spend past it.
 */
export class DifferentialPrivacy extends Strategy {
  readonly name: string;
  readonly inner: Strategy;
  readonly options: ResolvedPrivacy;
  readonly accountant = new RdpAccountant();
  readonly #noise: GaussianNoise;
  /** The clip norm of the next round (moves with adaptive clipping). */
  #clip: number;
  /** Learners selected for the round under way (0 under FedBuff, which selects one by one). */
  #selected = 0;

  constructor(inner: Strategy, options: DifferentialPrivacyOptions) {
    super();
    if (inner.aggregation !== Strategy.prototype.aggregation)
      throw new OiafedError(
        'INVALID_CONFIG',
        `privacy cannot wrap strategy ${inner.name}: DP-FedAvg adds noise to the sum of the updates, and this strategy aggregates them otherwise (robust strategies look at each update)`,
      );
    this.inner = inner;
    this.name = `${inner.name}+dp`;
    this.options = resolvePrivacy(options);
    const { clip, budget, delta, noiseMultiplier, sampleRate } = this.options;
    this.#clip = typeof clip === 'number' ? clip : clip.initial;
    this.#noise = new GaussianNoise(options.random);
    if (budget !== undefined) {
      const first = this.accountant.spent(delta, [{ noiseMultiplier, sampleRate, steps: 1 }]).epsilon;
      if (first > budget)
        throw new OiafedError(
          'INVALID_CONFIG',
          `privacy.budget ${budget} is less than one round spends (epsilon ${first.toFixed(3)} at delta ${delta} with noiseMultiplier ${noiseMultiplier}, sampleRate ${sampleRate})`,
        );
    }
  }

  /** The clip norm the next round uses. */
  get clip(): number {
    return this.#clip;
  }

  /** Epsilon spent so far at the configured delta. */
  epsilon(): number {
    return this.accountant.epsilon(this.options.delta);
  }

  override initialWeights(): Weights | Promise<Weights> | undefined {
    return this.inner.initialWeights();
  }

  override async beforeRound(start: RoundStart, cohort: Cohort, clients: readonly NodeId[]): Promise<void> {
    this.#selected = clients.length;
    await this.inner.beforeRound?.(start, cohort, clients);
  }

  override configureTrain(start: RoundStart, client: NodeId): TrainParams | undefined {
    const params = this.inner.configureTrain(start, client);
    if (!params || this.options.mode === 'central') return params;
    const share: LearnerPrivacy = { clip: this.#clip, noiseStd: this.#shareStd() };
    return { ...params, config: { ...params.config, [PRIVACY_CONFIG_KEY]: share } };
  }

  override aggregation(start: RoundStart): Aggregation {
    const central = this.options.mode === 'central';
    const sum = new ClippedSum(start.weights, central ? this.#clip : undefined);
    return {
      keepsUpdates: false,
      add: (update) => sum.add(update.weights),
      result: () => this.#release(start, sum),
    };
  }

  /**
   * Distributed mode under secure aggregation: the trainer holds only the sum of the survivors'
   * clipped, noised updates, which is what `aggregation` would have summed. Central mode cannot
   * run securely (the trainer cannot clip what it does not see, nor noise a sum it does not hold).
   */
  override aggregateSecureSum(start: RoundStart, updateSum: Weights, count: number): Aggregate {
    if (this.options.mode === 'central')
      throw new OiafedError(
        'INVALID_CONFIG',
        'central privacy cannot run with secure aggregation: the trainer would clip and noise updates it never sees (use privacy.mode distributed)',
      );
    return this.#release(start, { sum: updateSum, count, unclipped: 0 });
  }

  override update(start: RoundStart, aggregate: Aggregate): Weights {
    return this.inner.update(start, aggregate);
  }

  override configureEvaluate(start: RoundStart, client: NodeId): EvaluateParams | undefined {
    return this.inner.configureEvaluate(start, client);
  }

  override aggregateEvaluate(start: RoundStart, results: readonly ClientEvaluation[]): Metrics {
    return this.inner.aggregateEvaluate(start, results);
  }

  override shouldStop(summary: RoundSummary, history: readonly RoundSummary[]): boolean {
    return this.inner.shouldStop(summary, history);
  }

  override state(): StrategyState {
    return { inner: this.inner.state(), accountant: this.accountant.state(), clip: this.#clip };
  }

  override restore(state: StrategyState): void {
    const { inner, accountant, clip } = state;
    if (inner !== undefined) {
      if (inner === null || typeof inner !== 'object' || Array.isArray(inner))
        throw new OiafedError('INVALID_CONFIG', `checkpoint: ${this.inner.name} state is not an object`);
      this.inner.restore(inner as StrategyState);
    }
    this.accountant.restore(accountant);
    if (clip !== undefined) {
      if (typeof clip !== 'number' || !(clip > 0) || !Number.isFinite(clip))
        throw new OiafedError('INVALID_CONFIG', 'checkpoint: the clip norm is not a number > 0');
      this.#clip = clip;
    }
  }

  /** Distributed mode: the std of the noise each learner adds, so that the expected learners' shares add up to z·C. */
  #shareStd(): number {
    return (this.options.noiseMultiplier * this.#clip) / Math.sqrt(this.#sharing());
  }

  /** Distributed mode: how many learners the noise is shared among. */
  #sharing(): number {
    return this.options.expectedClients ?? Math.max(1, this.#selected);
  }

  /** The round's model from its clipped sum: noised, divided, accounted for; the clip adapted. */
  #release(start: RoundStart, sum: Pick<ClippedSum, 'sum' | 'count' | 'unclipped'>): Aggregate {
    const { noiseMultiplier: z, clip: clipping, mode, delta, budget, sampleRate } = this.options;
    if (sum.count === 0) throw new OiafedError('ROUND_FAILED', 'no update to average');
    const clip = this.#clip;
    const denominator = this.options.expectedClients ?? sum.count;
    let accounted = z;
    if (mode === 'central') {
      // Adaptive clipping spends part of the budget on the count: the sum's noise is raised to keep z overall.
      const sumMultiplier =
        typeof clipping === 'number' ? z : (z ** -2 - (2 * clipping.countNoise) ** -2) ** -0.5;
      for (const t of Object.values(sum.sum)) this.#noise.add(t.data, sumMultiplier * clip);
    } else {
      // Fewer learners than expected added fewer shares: count the noise that is really in the sum.
      accounted = z * Math.sqrt(Math.min(1, sum.count / this.#sharing()));
    }
    if (typeof clipping !== 'number') {
      const { countNoise, learningRate, targetQuantile } = clipping;
      const unclipped = (sum.unclipped + countNoise * this.#noise.next()) / denominator;
      this.#clip = clip * Math.exp(-learningRate * (unclipped - targetQuantile));
    }
    const weights: Weights = {};
    for (const [name, t] of Object.entries(start.weights)) {
      const out = sum.sum[name]!.data;
      const base = t.data;
      for (let i = 0; i < out.length; i++) out[i] = base[i]! + out[i]! / denominator;
      weights[name] = { shape: [...t.shape], data: out };
    }
    this.accountant.step(accounted, sampleRate);
    const spent = this.accountant.epsilon(delta);
    const next = this.accountant.spent(delta, [{ noiseMultiplier: z, sampleRate, steps: 1 }]).epsilon;
    const privacy: RoundPrivacy = {
      epsilon: spent,
      delta,
      noiseMultiplier: accounted,
      clip,
      sampleRate,
      ...(budget === undefined ? {} : { budget }),
      exhausted: budget !== undefined && next > budget,
    };
    return { weights, rejected: [], privacy };
  }
}
