/**
 * The masks of SecAgg: a pseudo-random vector of integers modulo 2^bits expanded from a 32-byte
 * seed with AES-256 in counter mode (WebCrypto: native in Node and browsers), added to or taken
 * from a vector in place. The same seed gives the same mask on every platform.
 */

/** The mask a seed expands to: `length` 32-bit words of the AES-CTR keystream. */
export async function expandMask(seed: Uint8Array, length: number): Promise<Uint32Array> {
  const subtle = globalThis.crypto.subtle;
  const key = await subtle.importKey('raw', seed, { name: 'AES-CTR' }, false, ['encrypt']);
  // The keystream is the encryption of zeros from counter 0; a fresh key per seed makes the
  // counter's reuse across seeds harmless.
  const stream = await subtle.encrypt(
    { name: 'AES-CTR', counter: new Uint8Array(16), length: 64 },
    key,
    new Uint8Array(length * 4),
  );
  return new Uint32Array(stream);
}

/** The bits a value keeps modulo 2^bits, as a mask for `&` (every bit for 32). */
export function modulusMask(bits: number): number {
  return bits === 32 ? 0xffffffff : 2 ** bits - 1;
}

/**
 * `into += mask` modulo 2^bits (Uint32Array stores wrap modulo 2^32; `&` narrows further), over
 * the mask's length: words of `into` past it are left as they are (a masked input's clear weight).
 */
export function addMask(into: Uint32Array, mask: Uint32Array, bits: number): void {
  const m = modulusMask(bits);
  for (let i = 0; i < mask.length; i++) into[i] = (into[i]! + mask[i]!) & m;
}

/** `into -= mask` modulo 2^bits, over the mask's length. */
export function subtractMask(into: Uint32Array, mask: Uint32Array, bits: number): void {
  const m = modulusMask(bits);
  for (let i = 0; i < mask.length; i++) into[i] = (into[i]! - mask[i]!) & m;
}
