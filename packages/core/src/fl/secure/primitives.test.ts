import { describe, expect, it } from 'vitest';
import { agreeKey, generateKeyPair, open, seal } from './keys.js';
import { addMask, expandMask, subtractMask } from './mask.js';

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));

describe('SecAgg crypto on WebCrypto', () => {
  it('expands a seed into the AES-256-CTR keystream from counter 0 (values from Python cryptography)', async () => {
    // Cipher(AES(bytes(range(32))), CTR(bytes(16))).encryptor().update(bytes(24)), read as little-endian uint32.
    const mask = await expandMask(
      Uint8Array.from({ length: 32 }, (_, i) => i),
      6,
    );
    expect([...mask]).toEqual([3053490418, 3500099882, 1788539817, 2155294429, 2926992880, 3852450122]);
  });

  it('agrees the RFC 7748 X25519 secret, then HKDF-SHA-256 (value from Python cryptography)', async () => {
    // RFC 7748 section 6.1: Alice's private key and Bob's public key agree 4a5d9d5b...3c1e161742;
    // HKDF-SHA-256 of it, salt none, info 'oiafed test', 32 bytes.
    const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const bob = hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const key = await agreeKey(alice, bob, 'oiafed test');
    expect(Array.from(key, (b) => b.toString(16).padStart(2, '0')).join('')).toBe(
      '0f48857f9eb4f1484533e592a88b0ea3a79a5be2be4a4a87f9f029988d21bf3a',
    );
  });

  it('agrees the same key from both ends, and refuses a public key of the wrong size', async () => {
    const [a, b] = await Promise.all([generateKeyPair(), generateKeyPair()]);
    expect(await agreeKey(a.privateKey, b.publicKey, 'x')).toEqual(
      await agreeKey(b.privateKey, a.publicKey, 'x'),
    );
    await expect(agreeKey(a.privateKey, new Uint8Array(31), 'x')).rejects.toMatchObject({
      code: 'INVALID_RESULT',
    });
    await expect(agreeKey(a.privateKey, new Uint8Array(32), 'x')).rejects.toMatchObject({
      code: 'INVALID_RESULT',
    });
  });

  it('opens what it sealed, and nothing altered, re-addressed or under another key', async () => {
    const key = globalThis.crypto.getRandomValues(new Uint8Array(32));
    const sealed = await seal(key, Uint8Array.from([1, 2, 3]), 's|1|2');
    expect(await open(key, sealed, 's|1|2')).toEqual(Uint8Array.from([1, 2, 3]));
    expect(await open(key, sealed, 's|1|3')).toBeUndefined();
    const altered = sealed.slice();
    altered[14]! ^= 1;
    expect(await open(key, altered, 's|1|2')).toBeUndefined();
    expect(await open(new Uint8Array(32), sealed, 's|1|2')).toBeUndefined();
    expect(await open(key, sealed.subarray(0, 10), 's|1|2')).toBeUndefined();
  });

  it('adds and takes away masks modulo 2^bits', () => {
    const v = Uint32Array.from([0, 5, 0xffffffff]);
    addMask(v, Uint32Array.from([0xffffffff, 0xfffffffe, 2]), 32);
    expect([...v]).toEqual([0xffffffff, 3, 1]);
    subtractMask(v, Uint32Array.from([0xffffffff, 0xfffffffe, 2]), 32);
    expect([...v]).toEqual([0, 5, 0xffffffff]);
    const w = Uint32Array.from([250, 3]);
    addMask(w, Uint32Array.from([10, 0xffff]), 8);
    expect([...w]).toEqual([4, 2]);
  });
});
