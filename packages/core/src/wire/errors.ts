import { boundedText } from './bounded-text.js';
import {
  MAX_CAUSE_DEPTH,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ERROR_STACK_LENGTH,
  MAX_NAME_LENGTH,
} from './frame-limits.js';

/**
 * One error hierarchy for the whole SDK. Every error carries a stable `code` that callers branch
 * on; messages are for people and may change.
 */
export type ErrorCode =
  | 'TIMEOUT'
  | 'ABORTED'
  | 'DISCONNECTED'
  | 'METHOD_NOT_FOUND'
  | 'NO_HANDLER'
  | 'UNKNOWN_TARGET'
  | 'UNAUTHORIZED'
  | 'PAYLOAD_TOO_LARGE'
  | 'BAD_FRAME'
  | 'VERSION_MISMATCH'
  | 'NOT_SERIALIZABLE'
  | 'NOT_CONNECTED'
  | 'REMOTE_ERROR'
  | 'INVALID_CONFIG'
  | 'ROUND_FAILED'
  | 'INVALID_RESULT'
  | 'CLOSED'
  /** A budget in bytes or count was hit (connections, buffered or partial bytes, a slow reader). */
  | 'OVERLOADED'
  /** Another link claims an id that is connected, without its resume secret or own credential. */
  | 'ID_TAKEN'
  /** Handling a frame failed inside this node (a bug, not the peer's input): the link is closed. */
  | 'INTERNAL';

/** An error as it travels on the wire: plain data, never code. */
export interface WireError {
  name: string;
  message: string;
  code?: string;
  /** Set only when the remote side is configured to expose stacks. */
  stack?: string;
  cause?: WireError;
  /** True when the error was raised by the RPC machinery, not by the user's handler. */
  protocol?: boolean;
}

export class OiafedError extends Error {
  override name = 'OiafedError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A user's handler threw on the remote side. `remote` keeps what it threw, as data. */
export class RemoteError extends OiafedError {
  override name = 'RemoteError';
  readonly remoteName: string;
  readonly remoteCode: string | undefined;
  readonly remoteStack: string | undefined;
  /** The node whose handler threw. */
  readonly origin: string;

  /** Never throws: `wire` is read as untrusted data (fields of any type, causes of any depth). */
  constructor(origin: string, wire: WireError) {
    const safe = readWireError(wire);
    // `safe` has at most MAX_CAUSE_DEPTH causes, so this builds at most that many errors below.
    super(
      'REMOTE_ERROR',
      safe.message,
      safe.cause ? { cause: fromWireError(origin, safe.cause) } : undefined,
    );
    this.origin = origin;
    this.remoteName = safe.name;
    this.remoteCode = safe.code;
    this.remoteStack = safe.stack;
  }
}

export function isOiafedError(value: unknown, code?: ErrorCode): value is OiafedError {
  return value instanceof OiafedError && (code === undefined || value.code === code);
}

/**
 * What `error` becomes on the wire: name, message, code, the stack if asked, and up to
 * MAX_CAUSE_DEPTH causes, each cut to the limits a peer accepts. Never throws, whatever was thrown
 * (an Error whose getters throw, a cause that is itself, a value whose toString is not callable).
 */
export function toWireError(error: unknown, exposeStack: boolean, depth = 0): WireError {
  return chain(error, MAX_CAUSE_DEPTH - depth, (value) => {
    if (!(value instanceof Error)) return [{ name: 'Error', message: messageText(value) }, undefined];
    const wire: WireError = {
      name: nameText(field(value, 'name')),
      message: messageText(field(value, 'message')),
    };
    const code = field(value, 'code');
    if (typeof code === 'string') wire.code = cut(code, MAX_ERROR_CODE_LENGTH);
    const stack = exposeStack ? field(value, 'stack') : undefined;
    if (typeof stack === 'string' && stack !== '') wire.stack = cut(stack, MAX_ERROR_STACK_LENGTH);
    return [wire, field(value, 'cause')];
  });
}

/**
 * Any thrown value as an OiafedError: typed ones pass as they are; a structured clone's refusal is
 * NOT_SERIALIZABLE; anything else (a bug, a buggy interceptor, a failing link, a thrown string) is
 * INTERNAL, never dressed up as the caller's fault. `doing` says what failed. The one normaliser
 * of the SDK's failures; it never throws, whatever was thrown.
 */
export function asOiafedError(error: unknown, doing?: string): OiafedError {
  if (error instanceof OiafedError) return error;
  const text = thrownText(error);
  const message = doing === undefined ? text : `${doing} failed: ${text}`;
  const cloneRefused = error instanceof Error && field(error, 'name') === 'DataCloneError';
  return new OiafedError(cloneRefused ? 'NOT_SERIALIZABLE' : 'INTERNAL', message, { cause: error });
}

function thrownText(error: unknown): string {
  try {
    if (error instanceof Error) return boundedText(error.message, 200);
    if (typeof error === 'object' && error !== null) return 'an unprintable value was thrown';
    return boundedText(error, 200);
  } catch {
    return 'an unprintable value was thrown';
  }
}

/** Errors raised by the RPC machinery keep their code at the caller; anything else is a RemoteError. Never throws. */
export function fromWireError(origin: string, wire: WireError): OiafedError {
  const safe = readWireError(wire);
  if (safe.protocol && safe.code !== undefined && isErrorCode(safe.code)) {
    return new OiafedError(safe.code, safe.message);
  }
  return new RemoteError(origin, safe);
}

/** An error of the RPC machinery as it travels: its message cut to what a peer accepts. */
export function protocolError(code: ErrorCode, message: string): WireError {
  return { name: 'OiafedError', code, message: messageText(message), protocol: true };
}

const CODES = new Set<string>([
  'TIMEOUT',
  'ABORTED',
  'DISCONNECTED',
  'METHOD_NOT_FOUND',
  'NO_HANDLER',
  'UNKNOWN_TARGET',
  'UNAUTHORIZED',
  'PAYLOAD_TOO_LARGE',
  'BAD_FRAME',
  'VERSION_MISMATCH',
  'NOT_SERIALIZABLE',
  'NOT_CONNECTED',
  'REMOTE_ERROR',
  'INVALID_CONFIG',
  'ROUND_FAILED',
  'INVALID_RESULT',
  'CLOSED',
  'OVERLOADED',
  'ID_TAKEN',
  'INTERNAL',
] satisfies ErrorCode[]);

function isErrorCode(code: string): code is ErrorCode {
  return CODES.has(code);
}

/** A peer's WireError as plain, bounded data: strings within the limits, at most MAX_CAUSE_DEPTH causes. */
function readWireError(wire: unknown): WireError {
  return chain(wire, MAX_CAUSE_DEPTH, (value) => {
    if (typeof value !== 'object' || value === null)
      return [{ name: 'Error', message: messageText(value) }, undefined];
    const safe: WireError = {
      name: nameText(field(value, 'name')),
      message: messageText(field(value, 'message')),
    };
    const code = field(value, 'code');
    if (typeof code === 'string') safe.code = cut(code, MAX_ERROR_CODE_LENGTH);
    const stack = field(value, 'stack');
    if (typeof stack === 'string') safe.stack = cut(stack, MAX_ERROR_STACK_LENGTH);
    if (field(value, 'protocol') === true) safe.protocol = true;
    return [safe, field(value, 'cause')];
  });
}

/**
 * `read` applied to `value` and then to each cause it names, at most `causes` of them, linked into
 * one WireError. A loop, not recursion: a chain thousands deep (or one that cycles) costs nothing.
 */
function chain(value: unknown, causes: number, read: (value: unknown) => [WireError, unknown]): WireError {
  // Whatever a level does (a proxy's trap, a revoked proxy), it becomes a placeholder, not a throw.
  const readSafely = (level: unknown): [WireError, unknown] => {
    try {
      return read(level);
    } catch {
      return [{ name: 'Error', message: 'unreadable error' }, undefined];
    }
  };
  const [top, first] = readSafely(value);
  let last = top;
  let next = first;
  for (let depth = 0; depth < causes && next !== undefined; depth++) {
    const [wire, cause] = readSafely(next);
    last.cause = wire;
    last = wire;
    next = cause;
  }
  return top;
}

/** A property of a value we do not trust: a getter that throws reads as undefined. */
function field(value: object, key: string): unknown {
  try {
    return (value as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

const nameText = (value: unknown): string =>
  typeof value === 'string' ? cut(value, MAX_NAME_LENGTH) : 'Error';
const messageText = (value: unknown): string =>
  typeof value === 'string' ? cut(value, MAX_ERROR_MESSAGE_LENGTH) : boundedText(value);
const cut = (text: string, max: number): string => (text.length <= max ? text : text.slice(0, max));
