import type { Weights } from '../weights.js';
import type { EncodedWeights } from './encoded-weights.js';
import { addDecoded, type CodecSettings } from './tensor-codec.js';

/**
 * Error feedback (Stich et al. 2018, "Sparsified SGD with Memory"; Karimireddy et al. 2019): what
 * a lossy codec left out of one update is kept and added to the next, so nothing is lost, only
 * late. The learner's side holds it, one model of memory, for as long as the learner is served:
 * between rounds and across a reconnect of its node (the wrapper outlives the link).
 */
export class ErrorFeedback {
  readonly #residual = new Map<string, Float32Array>();

  /** The residual kept for `name`, if any (for tests and telemetry). */
  residual(name: string): Float32Array | undefined {
    return this.#residual.get(name);
  }

  /**
   * `delta += residual`, in place. A residual of another layout (the model changed) is dropped:
   * it belongs to a model that no longer exists.
   */
  compensate(delta: Weights): void {
    for (const [name, kept] of this.#residual) {
      const t = delta[name];
      if (t?.data.length !== kept.length) {
        this.#residual.delete(name);
        continue;
      }
      const d = t.data;
      for (let i = 0; i < d.length; i++) d[i]! += kept[i]!;
    }
  }

  /** Keeps `delta - decoded(sent)` as the residual, in `delta`'s own arrays (they are spent after). */
  keep(delta: Weights, sent: EncodedWeights, settings: CodecSettings): void {
    this.#residual.clear();
    for (const [name, t] of Object.entries(delta)) {
      addDecoded(t.data, sent[name]!, -1, settings);
      this.#residual.set(name, t.data);
    }
  }
}
