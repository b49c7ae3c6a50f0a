import { OiafedError } from '../../wire/errors.js';

/**
 * Shamir's secret sharing (Shamir 1979) over the prime field of the Mersenne prime 2^521 - 1, as
 * SecAgg shares its 32-byte seeds and keys: any `threshold` shares give the secret back, fewer say
 * nothing of it. Shares are evaluated at small positive integers (a learner's place in the round).
 */
export const PRIME = (1n << 521n) - 1n;

/** Bytes of a share's y, big-endian: every field element fits in 66 bytes. */
export const SHARE_BYTES = 66;

export interface Share {
  /** Where the polynomial was evaluated: a positive integer, distinct within one secret's shares. */
  readonly x: number;
  readonly y: bigint;
}

/**
 * The shares of `secret` at each of `xs`: a random polynomial of degree `threshold - 1` with the
 * secret as its constant term. `random` fills bytes (crypto.getRandomValues; a test may pin it).
 */
export function splitSecret(
  secret: bigint,
  threshold: number,
  xs: readonly number[],
  random: (bytes: Uint8Array) => void = fillRandom,
): Share[] {
  if (secret < 0n || secret >= PRIME) throw new RangeError('secret is not an element of the field');
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > xs.length)
    throw new RangeError(`threshold ${threshold} must be from 1 to the ${xs.length} shares`);
  checkXs(xs);
  const coefficients = [secret];
  for (let i = 1; i < threshold; i++) coefficients.push(randomElement(random));
  return xs.map((x) => ({ x, y: evaluate(coefficients, BigInt(x)) }));
}

/** The polynomial at x (Horner's rule, mod p). */
export function evaluate(coefficients: readonly bigint[], x: bigint): bigint {
  let y = 0n;
  for (let i = coefficients.length - 1; i >= 0; i--) y = (y * x + coefficients[i]!) % PRIME;
  return y;
}

/**
 * The secret from at least `threshold` shares: Lagrange interpolation at 0 over the first
 * `threshold` of them. Shares with a repeated or invalid x, or a y outside the field, are refused.
 */
export function combineShares(shares: readonly Share[], threshold: number): bigint {
  if (shares.length < threshold)
    throw new OiafedError('ROUND_FAILED', `${shares.length} shares, fewer than the threshold ${threshold}`);
  const used = shares.slice(0, threshold);
  checkXs(used.map((s) => s.x));
  let secret = 0n;
  for (let i = 0; i < used.length; i++) {
    const xi = BigInt(used[i]!.x);
    let num = 1n;
    let den = 1n;
    for (let j = 0; j < used.length; j++) {
      if (j === i) continue;
      const xj = BigInt(used[j]!.x);
      num = (num * xj) % PRIME;
      den = (den * mod(xj - xi)) % PRIME;
    }
    const y = used[i]!.y;
    if (y < 0n || y >= PRIME) throw new RangeError('share value is not an element of the field');
    secret = (secret + y * num * inverse(den)) % PRIME;
  }
  return secret;
}

function checkXs(xs: readonly number[]): void {
  const seen = new Set<number>();
  for (const x of xs) {
    if (!Number.isSafeInteger(x) || x < 1) throw new RangeError(`share x ${x} is not a positive integer`);
    if (seen.has(x)) throw new RangeError(`share x ${x} is repeated`);
    seen.add(x);
  }
}

function mod(a: bigint): bigint {
  const r = a % PRIME;
  return r < 0n ? r + PRIME : r;
}

/** a^-1 mod p by the extended Euclidean algorithm (a is never 0 here: the xs are distinct). */
function inverse(a: bigint): bigint {
  let [r0, r1] = [PRIME, mod(a)];
  let [t0, t1] = [0n, 1n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [t0, t1] = [t1, t0 - q * t1];
  }
  return mod(t0);
}

/** Uniform in [0, p): 521 random bits, redrawn in the one case (p itself) that falls outside. */
function randomElement(random: (bytes: Uint8Array) => void): bigint {
  const bytes = new Uint8Array(SHARE_BYTES);
  for (;;) {
    random(bytes);
    bytes[0]! &= 0x01;
    const value = bytesToBigInt(bytes);
    if (value < PRIME) return value;
  }
}

function fillRandom(bytes: Uint8Array): void {
  globalThis.crypto.getRandomValues(bytes);
}

/** Big-endian bytes to a bigint. */
export function bytesToBigInt(bytes: Uint8Array): bigint {
  let hex = '0x0';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return BigInt(hex);
}

/** A bigint in [0, 2^(8 length)) to big-endian bytes of `length`. */
export function bigIntToBytes(value: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new RangeError(`value does not fit in ${length} bytes`);
  return out;
}
