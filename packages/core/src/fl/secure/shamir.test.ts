import { describe, expect, it } from 'vitest';
import { bigIntToBytes, bytesToBigInt, combineShares, evaluate, PRIME, splitSecret } from './shamir.js';

describe('Shamir sharing over 2^521 - 1', () => {
  it("evaluates Wikipedia's worked example: f(x) = 1234 + 166x + 94x^2 at 1..6", () => {
    // en.wikipedia.org/wiki/Shamir's_secret_sharing, "Example" (k = 3, n = 6).
    const f = [1234n, 166n, 94n];
    expect([1n, 2n, 3n, 4n, 5n, 6n].map((x) => evaluate(f, x))).toEqual([
      1494n,
      1942n,
      2578n,
      3402n,
      4414n,
      5614n,
    ]);
  });

  it('rebuilds 1234 from any three of those six shares, whatever their order', () => {
    const ys = [1494n, 1942n, 2578n, 3402n, 5614n];
    const shares = [1, 2, 3, 4, 6].map((x, i) => ({ x, y: ys[i]! }));
    expect(combineShares([shares[1]!, shares[3]!, shares[4]!], 3)).toBe(1234n);
    expect(combineShares([shares[4]!, shares[0]!, shares[2]!], 3)).toBe(1234n);
  });

  it('matches values written out with Python big integers, reducing mod 2^521 - 1', () => {
    // s = bytes 1..32 big-endian, a1 = 2^520 + 12345, a2 = p - 7; (s + a1 x + a2 x^2) % p in Python.
    const s = 0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20n;
    const f = [s, (1n << 520n) + 12345n, PRIME - 7n];
    // The high part both x = 1, 3 and 7 share: 2^520 plus bytes 1..30.
    const high = (1n << 504n) | (s >> 16n);
    expect(evaluate(f, 1n)).toBe((high << 16n) | 0x4f52n);
    expect(evaluate(f, 2n)).toBe(0x102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e7f77n);
    expect(evaluate(f, 3n)).toBe((high << 16n) | 0xaf8dn);
    expect(evaluate(f, 7n)).toBe(((high + 1n) << 16n) | 0x6f5bn);
    const shares = [1, 3, 7].map((x) => ({ x, y: evaluate(f, BigInt(x)) }));
    expect(combineShares(shares, 3)).toBe(s);
  });

  it('splits a 32-byte secret t-of-n so that any t shares rebuild it and t - 1 give another value', () => {
    const secret = bytesToBigInt(globalThis.crypto.getRandomValues(new Uint8Array(32)));
    const shares = splitSecret(secret, 4, [3, 5, 8, 9, 11, 20]);
    expect(combineShares(shares.slice(2), 4)).toBe(secret);
    expect(combineShares([shares[5]!, shares[0]!, shares[3]!, shares[1]!], 4)).toBe(secret);
    // With t - 1 shares and a made-up fourth the result is not the secret.
    expect(combineShares([...shares.slice(0, 3), { x: 30, y: 1n }], 4)).not.toBe(secret);
    expect(() => combineShares(shares.slice(0, 3), 4)).toThrow(/fewer than the threshold/);
  });

  it('refuses repeated or non-positive x and share values outside the field', () => {
    expect(() => splitSecret(1n, 2, [1, 1])).toThrow(/repeated/);
    expect(() => splitSecret(1n, 2, [0, 1])).toThrow(/positive/);
    expect(() => splitSecret(PRIME, 1, [1])).toThrow(/field/);
    expect(() =>
      combineShares(
        [
          { x: 1, y: PRIME },
          { x: 2, y: 1n },
        ],
        2,
      ),
    ).toThrow(/field/);
    expect(() =>
      combineShares(
        [
          { x: 2, y: 1n },
          { x: 2, y: 5n },
        ],
        2,
      ),
    ).toThrow(/repeated/);
  });

  it('writes field elements as 66 big-endian bytes and reads them back', () => {
    const y = PRIME - 1n;
    const bytes = bigIntToBytes(y, 66);
    expect(bytes[0]).toBe(1);
    expect(bytesToBigInt(bytes)).toBe(y);
    expect(() => bigIntToBytes(1n << 528n, 66)).toThrow(RangeError);
  });
});
