import { OiafedError } from '../../wire/errors.js';
import type { ClientUpdate } from '../aggregation.js';
import { layoutMismatch, type Weights } from '../weights.js';

/**
 * The updates of one round, kept by reference for an aggregation that needs them all at once
 * (median, Krum...). Every update must have one layout: the given one, or else the first update's.
 */
export class KeptUpdates {
  readonly #layout: Weights | undefined;
  #updates: ClientUpdate[] = [];
  #taken = false;

  constructor(layout?: Weights) {
    this.#layout = layout;
  }

  add(update: ClientUpdate): void {
    if (this.#taken) throw new Error('the round\u2019s updates were already aggregated');
    const layout = this.#layout ?? this.#updates[0]?.weights;
    const problem = layout && layoutMismatch(layout, update.weights);
    if (problem)
      throw new OiafedError(
        'INVALID_RESULT',
        `update of ${update.client} does not fit the round\u2019s layout: ${problem}`,
      );
    this.#updates.push(update);
  }

  /**
   * The updates in client-id order, handed over once: sums then run in an order that does not
   * depend on which learner answered first (so every mode gives the same bits), and the
   * aggregation holds no model after its round.
   */
  take(): ClientUpdate[] {
    if (this.#taken) throw new Error('the round\u2019s updates were already aggregated');
    this.#taken = true;
    const updates = this.#updates;
    this.#updates = [];
    if (updates.length === 0) throw new OiafedError('ROUND_FAILED', 'no update to aggregate');
    return updates.sort((a, b) => (a.client < b.client ? -1 : a.client > b.client ? 1 : 0));
  }
}
