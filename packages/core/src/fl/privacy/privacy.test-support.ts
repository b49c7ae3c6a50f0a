import { seededRandom } from '../random.js';
import type { Learner, TrainParams, TrainResult } from '../learner.js';
import { FedAvg } from '../strategies/fedavg.js';
import { tensor, type Weights } from '../weights.js';
import { DifferentialPrivacy } from './differential-privacy.js';
import type { DifferentialPrivacyOptions } from './privacy-options.js';

/* Learners and strategies shared by the differential privacy tests. */

/** Sends back the global model moved by a fixed step: an update of known norm. */
export class StepLearner implements Learner {
  readonly configs: Record<string, unknown>[] = [];
  constructor(
    readonly step: number[],
    readonly examples = 10,
  ) {}
  train(params: TrainParams): TrainResult {
    this.configs.push(params.config);
    const w = params.weights.w!.data.map((v, i) => v + this.step[i]!);
    return { weights: { w: tensor(w) }, numExamples: this.examples };
  }
  evaluate() {
    return { numExamples: 10, metrics: {} };
  }
  getWeights(): Weights {
    return { w: tensor(new Float32Array(this.step.length)) };
  }
  setWeights() {
    // Its answer depends only on the model it is sent.
  }
}

export const dp = (options: Partial<DifferentialPrivacyOptions> = {}, inner = new FedAvg()) =>
  new DifferentialPrivacy(inner, { noiseMultiplier: 1, clip: 1, random: seededRandom(11), ...options });
