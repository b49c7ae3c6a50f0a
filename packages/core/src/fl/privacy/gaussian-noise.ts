/** Uniform numbers in [0, 1): where Gaussian noise comes from. */
export type UniformSource = () => number;

/** Uint32s drawn from the CSPRNG at a time (getRandomValues takes at most 65,536 bytes a call). */
const BATCH = 4096;

/**
 * Uniform doubles in [0, 1) with 53 random bits each, from the platform's CSPRNG
 * (`crypto.getRandomValues`, in Node and browsers alike), drawn in batches. Noise that protects
 * privacy must not be predictable from earlier outputs, as a seeded PRNG's is.
 */
export function cryptoUniform(): UniformSource {
  const words = new Uint32Array(BATCH);
  let next = BATCH;
  return () => {
    if (next + 2 > BATCH) {
      crypto.getRandomValues(words);
      next = 0;
    }
    const high = words[next++]! >>> 5; // 27 bits
    const low = words[next++]! >>> 6; // 26 bits
    return (high * 67_108_864 + low) / 9_007_199_254_740_992;
  };
}

/**
 * Standard normal draws by the Marsaglia polar method from a uniform source: the CSPRNG by default,
 * a seeded one in tests (so a test of the noise's spread is reproducible).
 */
export class GaussianNoise {
  readonly #uniform: UniformSource;
  #spare: number | undefined;

  constructor(uniform: UniformSource = cryptoUniform()) {
    this.#uniform = uniform;
  }

  /** One draw of N(0, 1). */
  next(): number {
    const spare = this.#spare;
    if (spare !== undefined) {
      this.#spare = undefined;
      return spare;
    }
    for (;;) {
      const u = 2 * this.#uniform() - 1;
      const v = 2 * this.#uniform() - 1;
      const s = u * u + v * v;
      if (s === 0 || s >= 1) continue;
      const factor = Math.sqrt((-2 * Math.log(s)) / s);
      this.#spare = v * factor;
      return u * factor;
    }
  }

  /** Adds N(0, std^2) to every value of `data`, independently. */
  add(data: Float32Array, std: number): void {
    if (std === 0) return;
    for (let i = 0; i < data.length; i++) data[i]! += std * this.next();
  }
}
