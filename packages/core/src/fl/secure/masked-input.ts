import type { NodeId } from '../../wire/envelope.js';
import type { TrainParams } from '../learner.js';
import { assertEvaluateResult } from '../result-validation.js';
import { isPlainObject, type Metrics } from '../weights.js';
import { flatLayout } from './layout.js';
import { addMask, modulusMask } from './mask.js';
import { MASKED_INPUT } from './messages.js';
import type { SecureRoundState, Sharing } from './round-state.js';

/** What phase 3 leaves: the running sum of the masked inputs, whose they are, and what each sent in the clear. */
export interface MaskedInputs {
  sum: Uint32Array;
  survivors: NodeId[];
  /** Each survivor's example count and training metrics, in the order they arrived. */
  results: { numExamples: number; metrics: Metrics }[];
}

/**
 * Phase 3: each learner still in trains and answers its masked update; the masked vectors are
 * summed as they arrive (modulo 2^bits), so the trainer holds one vector whatever n. With
 * over-selection the phase closes once `target` inputs are in.
 */
export async function collectMaskedInputs(
  round: SecureRoundState,
  sharing: Sharing,
  { minResults, target }: { minResults: number; target: number },
): Promise<MaskedInputs> {
  const { start, strategy, secure } = round;
  const length = flatLayout(start.weights).size + 1;
  const sum = new Uint32Array(length);
  const results: { numExamples: number; metrics: Metrics }[] = [];
  // A learner the strategy leaves out of training is out of the masking too.
  const trains = new Map<NodeId, TrainParams>();
  for (const id of sharing.holders) {
    const train = strategy.configureTrain(start, id);
    if (train) trains.set(id, train);
  }
  const asked = round.viable(new Set(trains.keys()));
  const inputs = new Set(asked);
  const enough = Math.max(target, round.threshold + 1);
  const equalWeights = strategy.aggregateSecureSum !== undefined;
  const outcome = await round.gather(
    MASKED_INPUT,
    asked,
    (id) => {
      const maskWith = round.neighbours(id, inputs);
      sharing.masked.set(id, maskWith);
      return {
        session: round.session,
        train: trains.get(id)!,
        maskWith,
        ...(equalWeights ? { equalWeights } : {}),
      };
    },
    (_id, result) => {
      addMask(sum, result.masked, secure.bits);
      results.push({ numExamples: result.numExamples, metrics: result.metrics });
    },
    (result) => {
      if (
        !isPlainObject(result) ||
        !(result.masked instanceof Uint32Array) ||
        result.masked.length !== length
      )
        throw new Error(`the masked input must be a Uint32Array of ${length} values`);
      const top = modulusMask(secure.bits) >>> 0;
      if (secure.bits < 32 && result.masked.some((v) => v > top))
        throw new Error(`a masked value is not below 2^${secure.bits}`);
      // The example count and the metrics travel in the clear: checked as a training result's are.
      const clear = { numExamples: result.numExamples, metrics: result.metrics ?? {} };
      assertEvaluateResult(clear, { maxExamples: secure.maxExamples });
      if (clear.numExamples < 1) throw new Error('numExamples must be at least 1');
      // The weight is the one word left unmasked: a learner weighing otherwise than asked (by its
      // examples under equalWeights, say) is refused here, before its input joins the sum, and so
      // counts as dropped; the round goes on without it.
      const weight = result.masked[length - 1]!;
      const expected = equalWeights ? 1 : clear.numExamples;
      if (weight !== expected)
        throw new Error(
          `its update weighs ${weight}, not ${expected} (${equalWeights ? 'equalWeights: each learner weighs 1' : 'its example count'})`,
        );
      return { masked: result.masked, ...clear };
    },
    {
      // Announced as it arrives, as a plain round's result is: the count and metrics it sent in the clear.
      announce: ({ numExamples, metrics }) => ({ numExamples, metrics, masked: true }),
      // Over-selection: the phase closes at the round's target and cancels the rest, who count as
      // dropped for the unmasking. It waits for more than the threshold, or no survivor's self mask
      // could be rebuilt (a learner holds no share of its own secrets).
      ...(enough < asked.length ? { enough } : {}),
    },
  );
  const survivors = outcome.succeeded;
  if (survivors.length < minResults)
    throw round.fail(
      'masked input',
      `${survivors.length} masked inputs, fewer than minResults ${minResults}`,
    );
  return { sum, survivors, results };
}
