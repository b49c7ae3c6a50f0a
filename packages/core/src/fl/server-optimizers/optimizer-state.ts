import { boundedText } from '../../wire/bounded-text.js';
import { OiafedError } from '../../wire/errors.js';
import type { StrategyState } from '../aggregation.js';
import { cloneWeights, isPlainObject, layoutMismatch, modelProblem, type Weights } from '../weights.js';

/**
 * A server optimiser's state as it reads it back: how many steps it took, and its per-parameter
 * buffers (momentum, moments) by name, absent before the first step. The buffers are copies: the
 * optimiser updates its own in place, and the checkpoint it read them from stays as it was.
 */
export interface OptimizerState<K extends string> {
  steps: number;
  buffers: Record<K, Weights | undefined>;
}

/** What `state()` returns: the optimiser's name (so another one refuses it), its step count, copies of its buffers. */
export function optimizerState<K extends string>(
  optimizer: string,
  steps: number,
  buffers: Record<K, Weights | undefined>,
): StrategyState {
  const out: Record<string, Weights | string | number | null> = { optimizer, steps };
  for (const [key, weights] of Object.entries<Weights | undefined>(buffers))
    out[key] = weights ? cloneWeights(weights) : null;
  return out;
}

/**
 * Reads what `optimizerState` wrote, from a checkpoint: a file, so input like any other. Anything
 * that is not such a state (another optimiser's, a count that is not a count, a buffer that is not a
 * model of finite values, buffers of different layouts) is INVALID_CONFIG naming the field.
 * Whether the buffers fit the model is checked at the next step, the first time the model is seen.
 */
export function readOptimizerState<K extends string>(
  optimizer: string,
  state: unknown,
  keys: readonly K[],
): OptimizerState<K> {
  const fail = (problem: string) =>
    new OiafedError('INVALID_CONFIG', `${optimizer} state in the checkpoint: ${problem}`);
  if (!isPlainObject(state)) throw fail('not an object');
  if (state.optimizer !== optimizer)
    throw fail(`it was saved by ${JSON.stringify(boundedText(state.optimizer, 64))}, not ${optimizer}`);
  const steps = state.steps;
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 0)
    throw fail(`steps must be an integer >= 0 (got ${boundedText(steps, 64)})`);
  const buffers = {} as Record<K, Weights | undefined>;
  let first: { key: K; weights: Weights } | undefined;
  for (const key of keys) {
    const value = Object.hasOwn(state, key) ? state[key] : undefined;
    if (value === null || value === undefined) {
      buffers[key] = undefined;
      continue;
    }
    const problem = modelProblem(value);
    if (problem !== undefined) throw fail(`${key}: ${problem}`);
    const weights = value as Weights;
    if (first) {
      const mismatch = layoutMismatch(first.weights, weights);
      if (mismatch !== undefined) throw fail(`${key} does not match the layout of ${first.key}: ${mismatch}`);
    } else first = { key, weights };
    buffers[key] = cloneWeights(weights);
  }
  return { steps, buffers };
}

/** A buffer at its starting value: zeros in the model's layout (Flower's `np.zeros_like`). */
export function zerosLike(model: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(model))
    out[name] = { shape: [...t.shape], data: new Float32Array(t.data.length) };
  return out;
}

/**
 * Checks a step's inputs before the step changes anything: the aggregate must have the global
 * model's layout (INVALID_RESULT: the aggregation made something else), and so must buffers read
 * from a checkpoint (INVALID_CONFIG: the checkpoint belongs to another model).
 */
export function checkStepInputs(
  optimizer: string,
  global: Weights,
  aggregate: Weights,
  buffers: readonly (Weights | undefined)[],
): void {
  const problem = layoutMismatch(global, aggregate);
  if (problem !== undefined)
    throw new OiafedError(
      'INVALID_RESULT',
      `${optimizer}: the aggregate does not fit the global model: ${problem}`,
    );
  for (const buffer of buffers) {
    if (buffer === undefined) continue;
    const mismatch = layoutMismatch(global, buffer);
    if (mismatch !== undefined)
      throw new OiafedError(
        'INVALID_CONFIG',
        `${optimizer}: the state restored from the checkpoint does not fit the model: ${mismatch}`,
      );
  }
}
