/*
 * The only platform globals the core may use: each exists in Node >= 20 and in every current
 * browser. The core compiles against this file instead of lib.dom or @types/node, so reaching for
 * `window`, `process` or `Buffer` here is a compile error, not a surprise in the other platform.
 */
interface TimerHandle {
  readonly __timer?: never;
}
declare function setTimeout(callback: () => void, ms?: number): TimerHandle;
declare function clearTimeout(handle: TimerHandle | undefined): void;
declare function setInterval(callback: () => void, ms?: number): TimerHandle;
declare function clearInterval(handle: TimerHandle | undefined): void;
declare function queueMicrotask(callback: () => void): void;

interface AbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  throwIfAborted(): void;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
declare var AbortSignal: {
  prototype: AbortSignal;
  abort(reason?: unknown): AbortSignal;
  timeout(ms: number): AbortSignal;
};
interface AbortController {
  readonly signal: AbortSignal;
  abort(reason?: unknown): void;
}
declare var AbortController: { prototype: AbortController; new (): AbortController };

interface Console {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
}
declare var console: Console;

/** WebCrypto, as far as secure aggregation uses it (X25519, HKDF, AES-CTR, AES-GCM). */
interface CryptoKey {
  readonly type: string;
}
interface CryptoKeyPair {
  readonly publicKey: CryptoKey;
  readonly privateKey: CryptoKey;
}
type CryptoAlgorithm =
  string | { name: string; [parameter: string]: ArrayBufferView | ArrayBuffer | CryptoKey | string | number };
type KeyBytes = ArrayBufferView | ArrayBuffer;
interface SubtleCrypto {
  generateKey(
    algorithm: CryptoAlgorithm,
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKey | CryptoKeyPair>;
  importKey(
    format: 'raw' | 'pkcs8',
    key: KeyBytes,
    algorithm: CryptoAlgorithm,
    extractable: boolean,
    usages: string[],
  ): Promise<CryptoKey>;
  exportKey(format: 'raw' | 'pkcs8', key: CryptoKey): Promise<ArrayBuffer>;
  exportKey(format: 'jwk', key: CryptoKey): Promise<{ x?: string; d?: string }>;
  deriveBits(algorithm: CryptoAlgorithm, key: CryptoKey, length: number): Promise<ArrayBuffer>;
  encrypt(algorithm: CryptoAlgorithm, key: CryptoKey, data: KeyBytes): Promise<ArrayBuffer>;
  decrypt(algorithm: CryptoAlgorithm, key: CryptoKey, data: KeyBytes): Promise<ArrayBuffer>;
  digest(algorithm: 'SHA-256', data: KeyBytes): Promise<ArrayBuffer>;
}
declare var crypto: {
  getRandomValues<T extends ArrayBufferView>(array: T): T;
  readonly subtle: SubtleCrypto;
};
declare var TextEncoder: new () => { encode(text: string): Uint8Array };
declare var performance: { now(): number };

interface ReadableStream<R = unknown> {
  pipeThrough<T>(transform: { writable: WritableStream<R>; readable: ReadableStream<T> }): ReadableStream<T>;
}
interface WritableStream<W = unknown> {
  readonly locked: boolean;
  readonly __w?: W;
}
declare var CompressionStream: new (format: 'gzip' | 'deflate' | 'deflate-raw') => {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<Uint8Array>;
};
declare var DecompressionStream: new (format: 'gzip' | 'deflate' | 'deflate-raw') => {
  writable: WritableStream<Uint8Array>;
  readable: ReadableStream<Uint8Array>;
};
interface Blob {
  stream(): ReadableStream<Uint8Array>;
}
declare var Blob: new (parts: readonly (ArrayBuffer | ArrayBufferView)[]) => Blob;
interface Response {
  arrayBuffer(): Promise<ArrayBuffer>;
}
declare var Response: new (body: ReadableStream<Uint8Array>) => Response;

interface ReadableStreamDefaultReader<R> {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: R }>;
  cancel(reason?: unknown): Promise<void>;
}
interface ReadableStream<R> {
  getReader(): ReadableStreamDefaultReader<R>;
}

interface URL {
  readonly protocol: string;
  readonly hostname: string;
  readonly port: string;
  readonly pathname: string;
}
declare var URL: new (url: string) => URL;
