import type { RemoteProxy } from '../rpc/proxy.js';
import type { CompressedUpdate } from './codecs/encoded-weights.js';
import type { Metrics, Weights } from './weights.js';

/** What the trainer sends with each training request. */
export interface TrainParams {
  round: number;
  /** The global model to start from. In memory mode this is shared: read it, do not modify it. */
  weights: Weights;
  /**
   * Hyper-parameters from the federation config (epochs, batchSize, lr...), plus the trainer's own (mu for
   * FedProx).
   */
  config: Record<string, unknown>;
}

export interface TrainResult {
  weights: Weights;
  /** How many examples the update was trained on: its weight in FedAvg. */
  numExamples: number;
  metrics?: Metrics;
  /**
   * Set by the SDK on the trainer's side only, when the update came compressed
   * (`FederationOptions.compression.up`): then `weights` is empty and the learner's model is
   * `compressed.base` plus the decoded delta. A learner never sets it.
   */
  compressed?: CompressedUpdate;
}

export interface EvaluateParams {
  round: number;
  weights: Weights;
  config: Record<string, unknown>;
}

export interface EvaluateResult {
  numExamples: number;
  metrics: Metrics;
}

/**
 * The client side of a federated algorithm: what a researcher implements once and runs in every
 * mode. Any further method it has can be called through its LearnerProxy as well.
 */
export interface Learner {
  train(params: TrainParams): TrainResult | Promise<TrainResult>;
  evaluate(params: EvaluateParams): EvaluateResult | Promise<EvaluateResult>;
  getWeights(): Weights | Promise<Weights>;
  setWeights(weights: Weights): void | Promise<void>;
}

/** The trainer's typed handle on one learner, custom methods included when L declares them. */
export type LearnerProxy<L extends Learner = Learner> = RemoteProxy<L>;
