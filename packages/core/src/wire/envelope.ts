import { attachmentListProblem } from './attachments.js';
import { boundedText } from './bounded-text.js';
import type { WireError } from './errors.js';
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

/** Bumped whenever a frame's meaning changes; checked once, in the hello handshake. */
export const PROTOCOL_VERSION = 2;

export type NodeId = string;

/** The `dst` of an event sent to every node the sender can reach. */
export const BROADCAST = '*';

/** Free-form headers that interceptors read and write (auth token, compression flag...). */
export type Meta = Record<string, unknown>;

/**
 * Who sent a frame and for whom. On the wire both are left out when they are the link's own two
 * ends (most frames): the receiving node fills them in from the link, so a peer cannot claim to be
 * anyone else, and frames are smaller (a structured clone of two strings fewer is measurably faster).
 */
interface Routed {
  src: NodeId;
  dst: NodeId;
}

export interface CallFrame extends Routed {
  kind: 'call';
  id: number;
  method: string;
  args: unknown[];
  meta?: Meta;
}

export interface ResultFrame extends Routed {
  kind: 'result';
  id: number;
  value: unknown;
  meta?: Meta;
}

/** Answers a call, an acknowledged event (`id` > 0), or an unacknowledged event (`id` 0, `event` set). */
export interface ErrorFrame extends Routed {
  kind: 'error';
  id: number;
  error: WireError;
  event?: string;
}

export interface CancelFrame extends Routed {
  kind: 'cancel';
  id: number;
  reason?: string;
}

/** One-way push. `id` 0 asks for no acknowledgement; otherwise the receiver answers ack or error. */
export interface EventFrame extends Routed {
  kind: 'event';
  id: number;
  name: string;
  payload: unknown;
  meta?: Meta;
}

export interface AckFrame extends Routed {
  kind: 'ack';
  id: number;
}

/** First frame a joining node sends on a new link: who it is and what it can do. */
export interface HelloFrame {
  kind: 'hello';
  version: number;
  src: NodeId;
  role: string;
  token?: string;
  /** The resume secret a previous welcome gave this id: lets this link take over a link still registered under it. */
  resume?: string;
  capabilities: string[];
  metadata: Record<string, unknown>;
}

/** The accepting node's answer to a valid hello. A refused hello is answered by an error frame. */
export interface WelcomeFrame {
  kind: 'welcome';
  version: number;
  src: NodeId;
  dst: NodeId;
  role: string;
  /** A secret for this id: a later hello that presents it may replace this registration (a reconnect). */
  resume?: string;
}

export interface ByeFrame {
  kind: 'bye';
  src: NodeId;
  reason?: string;
}

export interface PingFrame {
  kind: 'ping';
  t: number;
}

export interface PongFrame {
  kind: 'pong';
  t: number;
}

/** A slice of one encoded frame too large for the channel; reassembled by the framed link. */
export interface ChunkFrame {
  kind: 'chunk';
  id: number;
  index: number;
  count: number;
  data: Uint8Array;
}

/**
 * Sent first by a link whose channel hears a message's bytes as they arrive (Node's `ws`): its
 * peer may send messages of up to `maxMessage` bytes whole, as liveness no longer needs chunks.
 * Consumed by the framed link; a node never sees it.
 */
export interface LimitsFrame {
  kind: 'limits';
  maxMessage: number;
}

/**
 * A data frame whose large typed arrays follow it as raw binary messages (in order, `sizes[i]`
 * bytes of `types[i]` each), so they are never encoded or decoded: `frame` holds refs to them.
 */
export interface AttachedFrame {
  kind: 'attached';
  frame: CallFrame | ResultFrame | EventFrame;
  sizes: number[];
  types: string[];
}

export type Envelope =
  | CallFrame
  | ResultFrame
  | ErrorFrame
  | CancelFrame
  | EventFrame
  | AckFrame
  | HelloFrame
  | WelcomeFrame
  | ByeFrame
  | PingFrame
  | PongFrame
  | ChunkFrame
  | AttachedFrame
  | LimitsFrame;

export type FrameKind = Envelope['kind'];

/** Frames a link speaks with its own peer (chunks, attachments, limits): consumed by the framed link. */
export type LinkFrame = ChunkFrame | AttachedFrame | LimitsFrame;

/** Frames a node reads: everything but the link's own. */
export type NodeFrame = Exclude<Envelope, LinkFrame>;

/** Frames that carry application data: the ones interceptors see. */
export type DataFrame = CallFrame | ResultFrame | ErrorFrame | EventFrame;

/** Frames that name their sender and receiver (left out on a link between the two). */
export type RoutedFrame = DataFrame | CancelFrame | AckFrame;

export function isLinkFrame(frame: Envelope): frame is LinkFrame {
  return frame.kind === 'chunk' || frame.kind === 'attached' || frame.kind === 'limits';
}

export function isDataFrame(frame: Envelope): frame is DataFrame {
  return frame.kind === 'call' || frame.kind === 'result' || frame.kind === 'error' || frame.kind === 'event';
}

export function isRouted(frame: Envelope): frame is RoutedFrame {
  return isDataFrame(frame) || frame.kind === 'cancel' || frame.kind === 'ack';
}

/**
 * A routed frame as it travels when `src` and `dst` are the link's own two ends: the other fields,
 * in the order of the codec's shared layouts. Built field by field because an object rest
 * (`{ src, dst, ...rest }`) costs ten times as much, on every frame of every call.
 */
export function unrouted(frame: RoutedFrame): Envelope {
  let local: Record<string, unknown>;
  switch (frame.kind) {
    case 'call':
      local = { kind: 'call', id: frame.id, method: frame.method, args: frame.args };
      break;
    case 'result':
      local = { kind: 'result', id: frame.id, value: frame.value };
      break;
    case 'event':
      local = { kind: 'event', id: frame.id, name: frame.name, payload: frame.payload };
      break;
    case 'error':
      local = { kind: 'error', id: frame.id, error: frame.error };
      if (frame.event !== undefined) local.event = frame.event;
      break;
    case 'cancel':
      local = { kind: 'cancel', id: frame.id };
      if (frame.reason !== undefined) local.reason = frame.reason;
      break;
    case 'ack':
      local = { kind: 'ack', id: frame.id };
      break;
  }
  // Calls, results and events may carry interceptors' headers.
  if ('meta' in frame && frame.meta !== undefined) local.meta = frame.meta;
  return local as unknown as Envelope;
}

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
