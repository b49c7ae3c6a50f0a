import { attachmentListProblem } from './attachments.js';
import { boundedText } from './bounded-text.js';
import { BROADCAST, type FrameKind } from './envelope.js';
import {
  MAX_CAPABILITIES,
  MAX_CAPABILITY_LENGTH,
  MAX_CAUSE_DEPTH,
  MAX_ERROR_CODE_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  MAX_ERROR_STACK_LENGTH,
  MAX_NAME_LENGTH,
  MAX_NODE_ID_LENGTH,
  MAX_QUOTED_LENGTH,
  MAX_REASON_LENGTH,
  MAX_RESUME_LENGTH,
  MAX_ROLE_LENGTH,
  MAX_TOKEN_LENGTH,
  REQUEST_ID_LIMIT,
} from './frame-limits.js';

/*
 * Every field of a decoded frame is checked for its type and size here, before any code reads it:
 * a peer's frame is refused for its shape (BAD_FRAME), never by an exception deep inside a handler
 * (a `reason` whose toString is not callable, a cause nested thousands deep). Each check returns
 * what is wrong with one field, naming the field and never quoting the peer's value, or undefined.
 */
type Problem = string | undefined;
type Fields = Record<string, unknown>;

const text = (value: unknown, field: string, max: number): Problem =>
  typeof value === 'string' && value.length <= max
    ? undefined
    : `${field} is not a string of at most ${max} characters`;
const optionalText = (value: unknown, field: string, max: number): Problem =>
  value === undefined ? undefined : text(value, field, max);
const nodeId = (value: unknown, field: string): Problem =>
  typeof value === 'string' && value.length > 0 && value.length <= MAX_NODE_ID_LENGTH && value !== BROADCAST
    ? undefined
    : `${field} is not a node id of 1 to ${MAX_NODE_ID_LENGTH} characters`;
const requestId = (value: unknown): Problem =>
  typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < REQUEST_ID_LIMIT
    ? undefined
    : 'id is not an integer in [0, 2^31)';
const finite = (value: unknown, field: string): Problem =>
  typeof value === 'number' && Number.isFinite(value) ? undefined : `${field} is not a finite number`;
const count = (value: unknown, field: string): Problem =>
  Number.isSafeInteger(value) && (value as number) >= 0
    ? undefined
    : `${field} is not a non-negative integer`;
const plain = (value: unknown, field: string): Problem =>
  isPlainObject(value) ? undefined : `${field} is not a plain object`;
const optionalPlain = (value: unknown, field: string): Problem =>
  value === undefined ? undefined : plain(value, field);
const list = (value: unknown, field: string): Problem =>
  Array.isArray(value) ? undefined : `${field} is not an array`;

/**
 * Both ends left out (the link's own two), or both named: `dst` may be every node, or none ('')
 * when a node answers a peer that has not said who it is.
 */
const routed = (src: unknown, dst: unknown): Problem =>
  src === undefined && dst === undefined
    ? undefined
    : (nodeId(src, 'src') ?? (dst === BROADCAST || dst === '' ? undefined : nodeId(dst, 'dst')));

/*
 * The fields of the frames that also travel as tuples (frame-tuples.ts), checked from their values:
 * a tuple's elements are passed as they are, without building an object to look them up in.
 */
export const callFields = (id: unknown, method: unknown, args: unknown, meta: unknown): Problem =>
  requestId(id) ??
  text(method, 'method', MAX_NAME_LENGTH) ??
  list(args, 'args') ??
  optionalPlain(meta, 'meta');
export const resultFields = (id: unknown, meta: unknown): Problem =>
  requestId(id) ?? optionalPlain(meta, 'meta');
export const errorFields = (id: unknown, error: unknown, event: unknown): Problem =>
  requestId(id) ?? wireError(error, 'error') ?? optionalText(event, 'event', MAX_NAME_LENGTH);
export const eventFields = (id: unknown, name: unknown, meta: unknown): Problem =>
  requestId(id) ?? text(name, 'name', MAX_NAME_LENGTH) ?? optionalPlain(meta, 'meta');
export const cancelFields = (id: unknown, reason: unknown): Problem =>
  requestId(id) ?? optionalText(reason, 'reason', MAX_REASON_LENGTH);
export const ackFields = (id: unknown): Problem => requestId(id);

function capabilities(value: unknown): Problem {
  const problem = `capabilities is not a list of at most ${MAX_CAPABILITIES} strings of at most ${MAX_CAPABILITY_LENGTH} characters`;
  if (!Array.isArray(value) || value.length > MAX_CAPABILITIES) return problem;
  for (const item of value)
    if (typeof item !== 'string' || item.length > MAX_CAPABILITY_LENGTH) return problem;
  return undefined;
}

/** A remote error and its causes, walked without recursion: a chain deeper than MAX_CAUSE_DEPTH is refused. */
function wireError(value: unknown, field: string): Problem {
  let error = value;
  let path = field;
  for (let depth = 0; ; depth++) {
    if (!isPlainObject(error)) return `${path} is not an error object`;
    const problem =
      text(error.name, `${path}.name`, MAX_NAME_LENGTH) ??
      text(error.message, `${path}.message`, MAX_ERROR_MESSAGE_LENGTH) ??
      optionalText(error.code, `${path}.code`, MAX_ERROR_CODE_LENGTH) ??
      optionalText(error.stack, `${path}.stack`, MAX_ERROR_STACK_LENGTH) ??
      (error.protocol === undefined || typeof error.protocol === 'boolean'
        ? undefined
        : `${path}.protocol is not a boolean`);
    if (problem !== undefined || error.cause === undefined) return problem;
    if (depth === MAX_CAUSE_DEPTH) return `${field} has causes nested deeper than ${MAX_CAUSE_DEPTH}`;
    error = error.cause;
    path += '.cause';
  }
}

function attachedFrame(f: Fields): Problem {
  const inner = f.frame;
  if (!isPlainObject(inner) || (inner.kind !== 'call' && inner.kind !== 'result' && inner.kind !== 'event'))
    return 'frame is not a call, result or event frame';
  const problem = frameProblem(inner);
  return problem === undefined ? attachmentListProblem(f.sizes, f.types) : `frame holds a ${problem}`;
}

const checks: Record<FrameKind, (f: Fields) => Problem> = {
  call: (f) => routed(f.src, f.dst) ?? callFields(f.id, f.method, f.args, f.meta),
  result: (f) => routed(f.src, f.dst) ?? resultFields(f.id, f.meta),
  error: (f) => routed(f.src, f.dst) ?? errorFields(f.id, f.error, f.event),
  cancel: (f) => routed(f.src, f.dst) ?? cancelFields(f.id, f.reason),
  event: (f) => routed(f.src, f.dst) ?? eventFields(f.id, f.name, f.meta),
  ack: (f) => routed(f.src, f.dst) ?? ackFields(f.id),
  hello: (f) =>
    finite(f.version, 'version') ??
    nodeId(f.src, 'src') ??
    text(f.role, 'role', MAX_ROLE_LENGTH) ??
    optionalText(f.token, 'token', MAX_TOKEN_LENGTH) ??
    optionalText(f.resume, 'resume', MAX_RESUME_LENGTH) ??
    capabilities(f.capabilities) ??
    plain(f.metadata, 'metadata'),
  welcome: (f) =>
    finite(f.version, 'version') ??
    nodeId(f.src, 'src') ??
    nodeId(f.dst, 'dst') ??
    text(f.role, 'role', MAX_ROLE_LENGTH) ??
    optionalText(f.resume, 'resume', MAX_RESUME_LENGTH),
  bye: (f) => nodeId(f.src, 'src') ?? optionalText(f.reason, 'reason', MAX_REASON_LENGTH),
  ping: (f) => finite(f.t, 't'),
  pong: (f) => finite(f.t, 't'),
  limits: (f) =>
    Number.isSafeInteger(f.maxMessage) && (f.maxMessage as number) > 0
      ? undefined
      : 'maxMessage is not a positive integer',
  chunk: (f) =>
    count(f.id, 'id') ??
    count(f.index, 'index') ??
    count(f.count, 'count') ??
    (f.data instanceof Uint8Array ? undefined : 'data is not a byte array'),
  attached: attachedFrame,
};

/** A Map, not the record: no lookup can reach Object.prototype ('constructor', '__proto__'), and it is faster. */
const checkOf = new Map<string, (f: Fields) => Problem>(Object.entries(checks));

/** Why a decoded value is not a frame, or undefined when it is one. The answer is at most a few hundred characters. */
export function frameProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'frame is not an object';
  const kind = (value as Fields).kind;
  const check = typeof kind === 'string' ? checkOf.get(kind) : undefined;
  if (!check) return `unknown frame kind ${quoted(kind)}`;
  const problem = check(value as Fields);
  return problem === undefined ? undefined : malformed(kind as string, problem);
}

/** What a BAD_FRAME says of a frame of a known kind with one field wrong. */
export function malformed(kind: string, problem: string): string {
  return `malformed ${kind} frame: ${problem}`;
}

/** Data as msgpackr and structured clone build it: no array, no class instance (a Date, a Map, an Error). */
export function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** A peer's value as a BAD_FRAME message may show it: short, escaped, and never through its own toString. */
export function quoted(value: unknown): string {
  return typeof value === 'string'
    ? `"${boundedText(value, MAX_QUOTED_LENGTH)}"`
    : boundedText(value, MAX_QUOTED_LENGTH);
}
