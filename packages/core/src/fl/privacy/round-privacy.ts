/** What a round spent of privacy, as `RoundSummary.privacy` reports it. */
export interface RoundPrivacy {
  /** Epsilon spent by the run so far (this round included), at `delta`. */
  epsilon: number;
  delta: number;
  /**
   * The round's noise multiplier as the accountant counted it: the one asked, or less in distributed mode
   * when fewer learners than expected added their share.
   */
  noiseMultiplier: number;
  /** The L2 norm this round's updates were clipped to (adaptive clipping moves it from round to round). */
  clip: number;
  /** The sampling rate the accountant assumed. */
  sampleRate: number;
  /** The run's epsilon budget, if it has one. */
  budget?: number;
  /** True when one more round would spend past the budget: the run stops here (reason 'budget'). */
  exhausted: boolean;
}
