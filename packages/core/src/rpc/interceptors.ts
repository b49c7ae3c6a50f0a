import { boundedText } from '../wire/bounded-text.js';
import { Codec } from '../wire/codec.js';
import type { CallFrame, DataFrame, EventFrame, ResultFrame } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';

export type { DataFrame };

/**
 * Code that sees every data frame on its way out (in list order) and on its way in (in reverse
 * order, so the last to wrap is the first to unwrap). Throwing an OiafedError refuses the frame:
 * an inbound call or acknowledged event is answered with that error.
 */
export interface Interceptor {
  readonly name: string;
  outbound?(frame: DataFrame): DataFrame | Promise<DataFrame>;
  inbound?(frame: DataFrame): DataFrame | Promise<DataFrame>;
}

/** Runs the chain; stays synchronous until an interceptor returns a promise. */
export function intercept(
  chain: readonly Interceptor[],
  direction: 'outbound' | 'inbound',
  frame: DataFrame,
): DataFrame | Promise<DataFrame> {
  const n = chain.length;
  let current: DataFrame = frame;
  for (let step = 0; step < n; step++) {
    const interceptor = chain[direction === 'outbound' ? step : n - 1 - step]!;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its interceptor as `this`
    const fn = interceptor[direction];
    if (!fn) continue;
    const out = fn.call(interceptor, current);
    if (out instanceof Promise) return out.then((f) => finishAsync(chain, direction, f, step + 1));
    current = out;
  }
  return current;
}

async function finishAsync(
  chain: readonly Interceptor[],
  direction: 'outbound' | 'inbound',
  frame: DataFrame,
  from: number,
) {
  const n = chain.length;
  let current = frame;
  for (let step = from; step < n; step++) {
    const interceptor = chain[direction === 'outbound' ? step : n - 1 - step]!;
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its interceptor as `this`
    const fn = interceptor[direction];
    if (fn) current = await fn.call(interceptor, current);
  }
  return current;
}

/** Logs one line per data frame: direction, kind, route and method or event name. */
export function loggingInterceptor(log: (line: string) => void = (line) => console.debug(line)): Interceptor {
  const describe = (arrow: string, f: DataFrame) => {
    const what =
      f.kind === 'call'
        ? ` ${f.method}`
        : f.kind === 'event'
          ? ` ${f.name}`
          : f.kind === 'error'
            ? ` ${f.error.message}`
            : '';
    return `${arrow} ${f.kind}#${f.id}${what} ${f.src} -> ${f.dst}`;
  };
  return {
    name: 'logging',
    outbound: (f) => (log(describe('>>', f)), f),
    inbound: (f) => (log(describe('<<', f)), f),
  };
}

/** Stamps calls and events with a shared token and refuses those that arrive without it. */
export function authInterceptor(token: string): Interceptor {
  return {
    name: 'auth',
    outbound: (f) => (f.kind === 'call' || f.kind === 'event' ? { ...f, meta: { ...f.meta, token } } : f),
    inbound: (f) => {
      if ((f.kind === 'call' || f.kind === 'event') && f.meta?.token !== token) {
        throw new OiafedError('UNAUTHORIZED', `${f.kind} from ${f.src} carries no valid token`);
      }
      return f;
    },
  };
}

export interface CompressionOptions {
  /** Payloads estimated smaller than this many bytes are sent as they are. Default 64 KiB. */
  threshold?: number;
  format?: 'gzip' | 'deflate' | 'deflate-raw';
  /** Largest payload accepted after decompression (guards against compression bombs). */
  maxBytes?: number;
}

const payloadField = { call: 'args', result: 'value', event: 'payload' } as const;

/** Deflates large call arguments, results and event payloads with the platform's CompressionStream. */
export function compressionInterceptor(options: CompressionOptions = {}): Interceptor {
  const threshold = options.threshold ?? 64 * 1024;
  const format = options.format ?? 'deflate-raw';
  const codec = new Codec(options.maxBytes === undefined ? {} : { maxFrameBytes: options.maxBytes });
  return {
    name: 'compression',
    async outbound(f) {
      if (f.kind === 'error' || estimateBytes(payloadOf(f)) < threshold) return f;
      const raw = codec.encodeValue(payloadOf(f));
      const packed = await pipe(raw, new CompressionStream(format), Infinity);
      if (packed.byteLength >= raw.byteLength) return f;
      return withPayload({ ...f, meta: { ...f.meta, z: format } }, packed);
    },
    async inbound(f) {
      if (f.kind === 'error' || f.meta?.z === undefined) return f;
      if (f.meta.z !== format)
        throw new OiafedError('BAD_FRAME', `unsupported compression ${boundedText(f.meta.z, 64)}`);
      const packed = f.kind === 'call' ? f.args[0] : payloadOf(f);
      if (!(packed instanceof Uint8Array))
        throw new OiafedError('BAD_FRAME', 'compressed payload is not bytes');
      const raw = await pipe(packed, new DecompressionStream(format), codec.maxFrameBytes);
      const { z: _z, ...meta } = f.meta;
      const value = codec.decodeValue(raw);
      if (f.kind === 'call' && !Array.isArray(value))
        throw new OiafedError('BAD_FRAME', 'compressed call arguments are not a list');
      return withPayload({ ...f, meta }, value);
    },
  };
}

function payloadOf(f: CallFrame | ResultFrame | EventFrame): unknown {
  return f[payloadField[f.kind] as keyof typeof f];
}

function withPayload<F extends CallFrame | ResultFrame | EventFrame>(f: F, payload: unknown): F {
  if (f.kind === 'call')
    return { ...f, args: payload instanceof Uint8Array ? [payload] : (payload as unknown[]) };
  return { ...f, [payloadField[f.kind]]: payload };
}

/** A cheap lower bound of a value's encoded size: typed arrays and strings, a few levels deep. */
export function estimateBytes(value: unknown, depth = 0): number {
  if (typeof value === 'string') return value.length;
  if (typeof value !== 'object' || value === null || depth > 4) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  let total = 0;
  for (const item of Array.isArray(value) ? value : Object.values(value))
    total += estimateBytes(item, depth + 1);
  return total;
}

async function pipe(
  bytes: Uint8Array,
  transform: { writable: WritableStream<Uint8Array>; readable: ReadableStream<Uint8Array> },
  limit: number,
): Promise<Uint8Array> {
  const reader = new Blob([bytes]).stream().pipeThrough(transform).getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    let step;
    try {
      step = await reader.read();
    } catch (cause) {
      throw new OiafedError('BAD_FRAME', 'compressed payload is corrupt', { cause });
    }
    if (step.done) break;
    size += step.value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw new OiafedError('PAYLOAD_TOO_LARGE', `decompressed payload exceeds ${limit} bytes`);
    }
    parts.push(step.value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
