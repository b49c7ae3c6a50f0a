import { seededRandom, shuffle } from '@oiafed/core';

export const PIXELS = 784;
export const CLASSES = 10;

/** Examples as one flat Float32Array of pixels in [0, 1] and one label per example. */
export interface Dataset {
  x: Float32Array;
  y: Uint8Array;
  count: number;
}

/**
 * The digits as bytes for a web page: count (u32), one label byte per digit, then every pixel as
 * a u16 of value x 1000 (the package stores pixels rounded to three decimals: nothing is lost).
 */
export function encodeDataset(data: Dataset): Uint8Array {
  const labelsEnd = 4 + data.count;
  const bytes = new Uint8Array(labelsEnd + data.x.length * 2);
  new DataView(bytes.buffer).setUint32(0, data.count, true);
  bytes.set(data.y, 4);
  const pixels = new Uint16Array(bytes.buffer, labelsEnd, data.x.length);
  for (let i = 0; i < data.x.length; i++) pixels[i] = Math.round(data.x[i]! * 1000);
  return bytes;
}

export function decodeDataset(bytes: Uint8Array): Dataset {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = view.getUint32(0, true);
  const y = bytes.slice(4, 4 + count);
  const pixels = new Uint16Array(bytes.slice(4 + count).buffer, 0, count * PIXELS);
  const x = new Float32Array(count * PIXELS);
  for (let i = 0; i < x.length; i++) x[i] = pixels[i]! / 1000;
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
export function trainTestSplit(
  data: Dataset,
  trainSize: number,
  testSize: number,
  seed: number,
): { train: Dataset; test: Dataset } {
  if (trainSize + testSize > data.count)
    throw new Error(`asked for ${trainSize} + ${testSize} examples; the package has ${data.count}`);
  const order = shuffle(
    Array.from({ length: data.count }, (_, i) => i),
    seededRandom(seed),
  );
  return {
    train: subset(data, order.slice(0, trainSize)),
    test: subset(data, order.slice(trainSize, trainSize + testSize)),
  };
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
    return Array.from({ length: clients }, (_, c) =>
      subset(
        data,
        indices.filter((_, i) => i % clients === c),
      ),
    );
  }
  indices.sort((a, b) => data.y[a]! - data.y[b]! || a - b);
  const shards = clients * 2;
  const size = Math.floor(data.count / shards);
  const order = shuffle(
    Array.from({ length: shards }, (_, s) => s),
    random,
  );
  return Array.from({ length: clients }, (_, c) =>
    subset(
      data,
      [order[2 * c]!, order[2 * c + 1]!].flatMap((s) => indices.slice(s * size, (s + 1) * size)),
    ),
  );
}
