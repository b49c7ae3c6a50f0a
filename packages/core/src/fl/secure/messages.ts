import type { NodeId } from '../../wire/envelope.js';
import type { Learner, TrainParams } from '../learner.js';
import type { Metrics } from '../weights.js';

/*
 * What the trainer and a learner say to each other in a SecAgg+ round, one method a phase. The
 * trainer's messages tell a learner its neighbours and route the sealed shares; a learner's answers
 * are checked by the trainer (phase checks in trainer-side code) before anything is used.
 */

/** Phase 1's request: the round's parameters and this learner's place in the neighbour graph. */
export interface AdvertiseParams {
  /** Random per round attempt: binds every key, share and mask to it. */
  session: string;
  round: number;
  /** Where this learner's shares of others are evaluated... the learner's own x (1-based). */
  x: number;
  /** Its neighbours and their x. */
  neighbours: { id: NodeId; x: number }[];
  threshold: number;
  bits: number;
  /** Quantisation levels and clipping range (see quantize.ts). */
  levels: number;
  clip: number;
  maxExamples: number;
}

/** Phase 1's answer: two X25519 public keys, for sealing shares (c) and for pairwise masks (s). */
export interface AdvertiseResult {
  c: Uint8Array;
  s: Uint8Array;
}

/** Phase 2's request: the keys of the neighbours that advertised. */
export interface ShareKeysParams {
  session: string;
  keys: { id: NodeId; c: Uint8Array; s: Uint8Array }[];
}

/** Phase 2's answer: for each of those neighbours, its shares of our two secrets, sealed to it. */
export interface ShareKeysResult {
  shares: { to: NodeId; sealed: Uint8Array }[];
  /** SHA-256 of the self-mask seed: a wrong share cannot rebuild another seed unnoticed. */
  commitment: Uint8Array;
}

/** Phase 2, delivery: the sealed shares other learners addressed to this one. */
export interface DeliverParams {
  session: string;
  shares: { from: NodeId; sealed: Uint8Array }[];
}

/** Which senders' shares did not open (altered, or sealed for someone else): they are left out. */
export interface DeliverResult {
  refused: NodeId[];
}

/** Phase 3's request: train, then mask the update with the self-mask and with these neighbours. */
export interface MaskedInputParams {
  session: string;
  train: TrainParams;
  maskWith: NodeId[];
  /**
   * Weigh the update by 1 rather than its example count (differential privacy: a weight by
   * examples would let one learner move the sum by more than the clip).
   */
  equalWeights?: boolean;
}

/**
 * Phase 3's answer: the masked, quantised, weighted update, its last word the weight itself, left
 * unmasked (the example count, or 1 under `equalWeights`: nothing the count beside it does not
 * say), so the trainer checks each learner's weight and the sum's total is known; and
 * beside it, in the clear as in Flower's SecAgg+ (whose reply keeps the FitRes's num_examples and
 * metrics and clears only its arrays), the learner's example count and training metrics: what the
 * trainer announces per learner (CLIENT_RESULT). The masks hide the update, not these.
 */
export interface MaskedInputResult {
  masked: Uint32Array;
  numExamples: number;
  metrics: Metrics;
}

/** Phase 4's request: which neighbours' self-mask shares, and which dropped ones' mask-key shares, to reveal. */
export interface UnmaskParams {
  session: string;
  survivors: NodeId[];
  dropped: NodeId[];
}

/** Phase 4's answer: the shares asked for, in the order asked (SHARE_BYTES each, big-endian). */
export interface UnmaskResult {
  survivors: Uint8Array[];
  dropped: Uint8Array[];
}

export const ADVERTISE = 'oiafed.secagg.advertise';
export const SHARE_KEYS = 'oiafed.secagg.shareKeys';
export const DELIVER = 'oiafed.secagg.deliver';
export const MASKED_INPUT = 'oiafed.secagg.maskedInput';
export const UNMASK = 'oiafed.secagg.unmask';

/** The methods `serveLearner` adds to every learner, as the trainer's cohort calls them. */
export interface SecureAggregationMethods {
  [ADVERTISE](params: AdvertiseParams): Promise<AdvertiseResult>;
  [SHARE_KEYS](params: ShareKeysParams): Promise<ShareKeysResult>;
  [DELIVER](params: DeliverParams): Promise<DeliverResult>;
  [MASKED_INPUT](params: MaskedInputParams): Promise<MaskedInputResult>;
  [UNMASK](params: UnmaskParams): Promise<UnmaskResult>;
}

export type SecureLearner = Learner & SecureAggregationMethods;

/** The phases a failed round names. */
export type SecureAggregationPhase = 'advertise keys' | 'share keys' | 'masked input' | 'unmask';

export const SECURE_AGGREGATION_METHODS = [ADVERTISE, SHARE_KEYS, DELIVER, MASKED_INPUT, UNMASK] as const;
