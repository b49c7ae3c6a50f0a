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

  constructor(origin: string, wire: WireError) {
    super('REMOTE_ERROR', wire.message, wire.cause ? { cause: fromWireError(origin, wire.cause) } : undefined);
    this.origin = origin;
    this.remoteName = wire.name;
    this.remoteCode = wire.code;
    this.remoteStack = wire.stack;
  }
}

export function isOiafedError(value: unknown, code?: ErrorCode): value is OiafedError {
  return value instanceof OiafedError && (code === undefined || value.code === code);
}

const MAX_CAUSE_DEPTH = 4;

export function toWireError(error: unknown, exposeStack: boolean, depth = 0): WireError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
  }
  const wire: WireError = { name: error.name, message: error.message };
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') wire.code = code;
  if (exposeStack && error.stack) wire.stack = error.stack;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) {
    wire.cause = toWireError(error.cause, exposeStack, depth + 1);
  }
  return wire;
}

/** Errors raised by the RPC machinery keep their code at the caller; anything else is a RemoteError. */
export function fromWireError(origin: string, wire: WireError): OiafedError {
  if (wire.protocol && wire.code !== undefined && isErrorCode(wire.code)) {
    return new OiafedError(wire.code, wire.message);
  }
  return new RemoteError(origin, wire);
}

export function protocolError(code: ErrorCode, message: string): WireError {
  return { name: 'OiafedError', code, message, protocol: true };
}

const CODES = new Set<string>([
  'TIMEOUT', 'ABORTED', 'DISCONNECTED', 'METHOD_NOT_FOUND', 'NO_HANDLER', 'UNKNOWN_TARGET',
  'UNAUTHORIZED', 'PAYLOAD_TOO_LARGE', 'BAD_FRAME', 'VERSION_MISMATCH', 'NOT_SERIALIZABLE',
  'NOT_CONNECTED', 'REMOTE_ERROR', 'INVALID_CONFIG', 'ROUND_FAILED', 'INVALID_RESULT', 'CLOSED',
  'OVERLOADED', 'ID_TAKEN', 'INTERNAL',
] satisfies ErrorCode[]);

function isErrorCode(code: string): code is ErrorCode {
  return CODES.has(code);
}

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return 'non-error value thrown';
  }
}
