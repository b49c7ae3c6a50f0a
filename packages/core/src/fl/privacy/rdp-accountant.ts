import { OiafedError } from '../../wire/errors.js';
import type { StateValue } from '../aggregation.js';
import { computeRdp, epsilonFromRdp } from './rdp.js';

/** One stretch of identical steps: the noise multiplier, the sampling rate, and how many. */
export interface AccountantStep {
  readonly noiseMultiplier: number;
  readonly sampleRate: number;
  readonly steps: number;
}

/**
 * Opacus's RDP orders (`RDPAccountant.DEFAULT_ALPHAS`): 1.1 to 10.9 by 0.1, then 12 to 63. The
 * same orders give the same epsilon as Opacus.
 */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 52 }, (_, x) => 12 + x),
];

/**
 * The privacy spent by a run of sampled Gaussian mechanisms, after Opacus's `RDPAccountant`: each
 * step is recorded (consecutive identical steps as one entry), RDP adds up over them at every
 * order, and epsilon at a delta is the best conversion over the orders. In federated learning a
 * step is a round: the noise multiplier z (noise std over the clip norm) and the rate at which
 * learners are sampled.
 */
export class RdpAccountant {
  readonly orders: readonly number[];
  #history: AccountantStep[] = [];

  constructor(orders: readonly number[] = DEFAULT_ORDERS) {
    if (orders.length === 0 || !orders.every((a) => a > 1 && Number.isFinite(a)))
      throw new OiafedError('INVALID_CONFIG', 'RDP orders must be finite numbers > 1');
    this.orders = [...orders];
  }

  get history(): readonly AccountantStep[] {
    return this.#history;
  }

  /** Records `steps` more steps of noise `noiseMultiplier` at sampling rate `sampleRate`. */
  step(noiseMultiplier: number, sampleRate: number, steps = 1): void {
    checkStep(noiseMultiplier, sampleRate, steps);
    const last = this.#history[this.#history.length - 1];
    if (last?.noiseMultiplier === noiseMultiplier && last.sampleRate === sampleRate)
      this.#history[this.#history.length - 1] = { ...last, steps: last.steps + steps };
    else this.#history.push({ noiseMultiplier, sampleRate, steps });
  }

  /** Epsilon at `delta` for the steps so far (0 before any), with the RDP order that gives it. */
  spent(delta: number, extra: readonly AccountantStep[] = []): { epsilon: number; order: number } {
    if (!(delta > 0 && delta < 1))
      throw new OiafedError('INVALID_CONFIG', `delta must be in (0, 1) (got ${delta})`);
    const history = [...this.#history, ...extra];
    if (history.length === 0) return { epsilon: 0, order: 0 };
    const rdp = new Array<number>(this.orders.length).fill(0);
    for (const { noiseMultiplier, sampleRate, steps } of history) {
      const part = computeRdp(sampleRate, noiseMultiplier, steps, this.orders);
      for (let k = 0; k < rdp.length; k++) rdp[k]! += part[k]!;
    }
    return epsilonFromRdp(this.orders, rdp, delta);
  }

  /** Epsilon at `delta` for the steps so far. */
  epsilon(delta: number): number {
    return this.spent(delta).epsilon;
  }

  /** The history, for a checkpoint. */
  state(): StateValue {
    return this.#history.map((h) => ({ ...h }));
  }

  /** Takes back what `state()` gave (read from a checkpoint file, so checked). */
  restore(state: StateValue | undefined): void {
    if (state === undefined) return;
    if (!Array.isArray(state))
      throw new OiafedError('INVALID_CONFIG', 'checkpoint: the accountant history is not a list');
    const history: AccountantStep[] = [];
    for (const entry of state as readonly StateValue[]) {
      const e = entry as { noiseMultiplier?: unknown; sampleRate?: unknown; steps?: unknown } | null;
      const { noiseMultiplier, sampleRate, steps } = e ?? {};
      if (typeof noiseMultiplier !== 'number' || typeof sampleRate !== 'number' || typeof steps !== 'number')
        throw new OiafedError(
          'INVALID_CONFIG',
          'checkpoint: an accountant step is not { noiseMultiplier, sampleRate, steps }',
        );
      checkStep(noiseMultiplier, sampleRate, steps);
      history.push({ noiseMultiplier, sampleRate, steps });
    }
    this.#history = history;
  }
}

function checkStep(noiseMultiplier: number, sampleRate: number, steps: number): void {
  if (!(noiseMultiplier >= 0) || !Number.isFinite(noiseMultiplier))
    throw new OiafedError(
      'INVALID_CONFIG',
      `noise multiplier must be a number >= 0 (got ${noiseMultiplier})`,
    );
  if (!(sampleRate >= 0 && sampleRate <= 1))
    throw new OiafedError('INVALID_CONFIG', `sample rate must be in [0, 1] (got ${sampleRate})`);
  if (!Number.isSafeInteger(steps) || steps < 1)
    throw new OiafedError('INVALID_CONFIG', `steps must be a positive integer (got ${steps})`);
}
