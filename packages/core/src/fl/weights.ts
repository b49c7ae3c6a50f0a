import { OiafedError } from '../errors.js';

/** One named parameter tensor: its values, row-major, and its shape. */
export interface Tensor {
  shape: number[];
  data: Float32Array;
}

/** A model's parameters by name (e.g. `dense1/kernel`). Crosses every link as typed arrays. */
export type Weights = Record<string, Tensor>;

export type Metrics = Record<string, number>;

export function tensor(data: Float32Array | readonly number[], shape: number[] = [data.length]): Tensor {
  const values = data instanceof Float32Array ? data : Float32Array.from(data);
  const size = shape.reduce((a, b) => a * b, 1);
  if (size !== values.length) throw new OiafedError('INVALID_CONFIG', `shape [${shape}] holds ${size} values, data has ${values.length}`);
  return { shape: [...shape], data: values };
}

export function cloneWeights(weights: Weights): Weights {
  const out: Weights = {};
  for (const [name, t] of Object.entries(weights)) out[name] = { shape: [...t.shape], data: t.data.slice() };
  return out;
}

export function parameterCount(weights: Weights): number {
  let n = 0;
  for (const t of Object.values(weights)) n += t.data.length;
  return n;
}

export function weightsBytes(weights: Weights): number {
  return parameterCount(weights) * Float32Array.BYTES_PER_ELEMENT;
}

/** Why `candidate` does not fit the layout of `reference`, or undefined when it does. */
export function layoutMismatch(reference: Weights, candidate: unknown): string | undefined {
  if (typeof candidate !== 'object' || candidate === null) return 'weights are missing';
  const names = Object.keys(reference);
  const given = candidate as Record<string, unknown>;
  for (const name of names) {
    const t = given[name] as Partial<Tensor> | undefined;
    if (!t || !(t.data instanceof Float32Array)) return `tensor ${name} is missing or not a Float32Array`;
    if (t.data.length !== reference[name]!.data.length) return `tensor ${name} has ${t.data.length} values, expected ${reference[name]!.data.length}`;
  }
  const extra = Object.keys(given).filter((n) => !(n in reference));
  return extra.length ? `unexpected tensors: ${extra.join(', ')}` : undefined;
}

/** The largest absolute difference between two weight sets of one layout. */
export function maxAbsDiff(a: Weights, b: Weights): number {
  let max = 0;
  for (const [name, t] of Object.entries(a)) {
    const other = b[name];
    if (!other || other.data.length !== t.data.length) return Infinity;
    for (let i = 0; i < t.data.length; i++) {
      const d = Math.abs(t.data[i]! - other.data[i]!);
      if (d > max || Number.isNaN(d)) max = Number.isNaN(d) ? Infinity : d;
    }
  }
  return max;
}
