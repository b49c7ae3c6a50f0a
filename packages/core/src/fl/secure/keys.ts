import { OiafedError } from '../../wire/errors.js';

/**
 * Key agreement and authenticated encryption for SecAgg, all WebCrypto (Node 20 and Chromium
 * alike): X25519 key pairs whose private halves can be Shamir-shared (raw 32 bytes in and out
 * through PKCS#8), HKDF-SHA-256 from an agreed secret to a 32-byte key, AES-256-GCM for shares.
 */

/** The fixed DER header of an X25519 PKCS#8 private key (RFC 8410): the raw 32 bytes follow it. */
const PKCS8_X25519 = Uint8Array.from([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
]);

export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

export interface KeyPair {
  readonly publicKey: Uint8Array;
  /** The raw private scalar: what is shared when it is the pairwise-mask key. */
  readonly privateKey: Uint8Array;
  /** The same, imported once: an import costs about three times an agreement. */
  readonly key: CryptoKey;
}

const subtle = () => globalThis.crypto.subtle;

export async function generateKeyPair(): Promise<KeyPair> {
  const pair = (await subtle().generateKey({ name: 'X25519' }, true, ['deriveBits'])) as CryptoKeyPair;
  const [pub, pkcs8] = await Promise.all([
    subtle().exportKey('raw', pair.publicKey),
    subtle().exportKey('pkcs8', pair.privateKey),
  ]);
  return {
    publicKey: new Uint8Array(pub),
    privateKey: new Uint8Array(pkcs8).slice(PKCS8_X25519.length),
    key: pair.privateKey,
  };
}

/** A raw X25519 private key (one rebuilt from its shares) as a key to agree with. */
export function importPrivateKey(privateKey: Uint8Array): Promise<CryptoKey> {
  const pkcs8 = new Uint8Array(PKCS8_X25519.length + KEY_BYTES);
  pkcs8.set(PKCS8_X25519);
  pkcs8.set(privateKey, PKCS8_X25519.length);
  return subtle().importKey('pkcs8', pkcs8, { name: 'X25519' }, true, ['deriveBits']);
}

/** The public key of a private one (checks a rebuilt key against the one its owner advertised). */
export async function publicKeyOf(privateKey: CryptoKey): Promise<Uint8Array> {
  const jwk = await subtle().exportKey('jwk', privateKey);
  return base64UrlDecode(jwk.x ?? '');
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** JWK's unpadded base64url (RFC 7515), decoded: six bits a character. */
function base64UrlDecode(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const ch of text) {
    value = (value << 6) | BASE64URL.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[at++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

/**
 * The X25519 shared secret of our `privateKey` and their `publicKey`, through HKDF-SHA-256 with
 * `info` (what the key is for, and the session, so no two uses share a key). A malformed or
 * low-order public key is an INVALID_RESULT: it came from a peer.
 */
export async function agreeKey(
  privateKey: Uint8Array | CryptoKey,
  publicKey: Uint8Array,
  info: string,
): Promise<Uint8Array> {
  if (publicKey.length !== KEY_BYTES)
    throw new OiafedError('INVALID_RESULT', `public key of ${publicKey.length} bytes, not ${KEY_BYTES}`);
  let secret: ArrayBuffer;
  try {
    const [ours, theirs] = await Promise.all([
      privateKey instanceof Uint8Array ? importPrivateKey(privateKey) : privateKey,
      subtle().importKey('raw', publicKey, { name: 'X25519' }, false, []),
    ]);
    secret = await subtle().deriveBits({ name: 'X25519', public: theirs }, ours, 256);
    // RFC 7748 section 6.1: an all-zero secret means a low-order point; some platforms return it.
    if (new Uint8Array(secret).every((b) => b === 0)) throw new Error('all-zero shared secret');
  } catch (error) {
    throw new OiafedError(
      'INVALID_RESULT',
      'X25519 key agreement failed (a malformed or low-order public key)',
      {
        cause: error,
      },
    );
  }
  const hkdf = await subtle().importKey('raw', secret, 'HKDF', false, ['deriveBits']);
  const key = await subtle().deriveBits(
    { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode(info) },
    hkdf,
    256,
  );
  return new Uint8Array(key);
}

/** Bytes AES-GCM adds to a plaintext here: the nonce before it, the tag after it. */
export const SEAL_OVERHEAD = NONCE_BYTES + TAG_BYTES;

/** AES-256-GCM under `key` with a random nonce, bound to `context` (who sends what to whom). */
export async function seal(key: Uint8Array, plaintext: Uint8Array, context: string): Promise<Uint8Array> {
  const nonce = globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
  const aes = await subtle().importKey('raw', key, 'AES-GCM', false, ['encrypt']);
  const sealed = await subtle().encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: new TextEncoder().encode(context) },
    aes,
    plaintext,
  );
  const out = new Uint8Array(NONCE_BYTES + sealed.byteLength);
  out.set(nonce);
  out.set(new Uint8Array(sealed), NONCE_BYTES);
  return out;
}

/** The plaintext of `seal`, or undefined when it was altered, sealed for another context or under another key. */
export async function open(
  key: Uint8Array,
  sealed: Uint8Array,
  context: string,
): Promise<Uint8Array | undefined> {
  if (sealed.length < SEAL_OVERHEAD) return undefined;
  const aes = await subtle().importKey('raw', key, 'AES-GCM', false, ['decrypt']);
  try {
    const plain = await subtle().decrypt(
      {
        name: 'AES-GCM',
        iv: sealed.subarray(0, NONCE_BYTES),
        additionalData: new TextEncoder().encode(context),
      },
      aes,
      sealed.subarray(NONCE_BYTES),
    );
    return new Uint8Array(plain);
  } catch {
    return undefined;
  }
}

/** SHA-256 of `bytes`: a learner's commitment to its self-mask seed, which the rebuilt seed must match. */
export async function commitment(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await subtle().digest('SHA-256', bytes));
}

/** Random bytes (a self-mask seed). */
export function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}
