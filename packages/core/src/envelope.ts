import type { WireError } from './errors.js';

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

type RoutedFrame = CallFrame | ResultFrame | ErrorFrame | CancelFrame | EventFrame | AckFrame;

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

const isStr = (v: unknown): v is string => typeof v === 'string';
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isRouted = (f: Record<string, unknown>) => (f.src === undefined && f.dst === undefined) || (isStr(f.src) && isStr(f.dst));
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

const validators: Record<FrameKind, (f: Record<string, unknown>) => boolean> = {
  call: (f) => isRouted(f) && isNum(f.id) && isStr(f.method) && Array.isArray(f.args),
  result: (f) => isRouted(f) && isNum(f.id),
  error: (f) => isRouted(f) && isNum(f.id) && isObj(f.error) && isStr(f.error.message),
  cancel: (f) => isRouted(f) && isNum(f.id),
  event: (f) => isRouted(f) && isNum(f.id) && isStr(f.name),
  ack: (f) => isRouted(f) && isNum(f.id),
  hello: (f) => isNum(f.version) && isStr(f.src) && isStr(f.role) && Array.isArray(f.capabilities) && isObj(f.metadata),
  welcome: (f) => isNum(f.version) && isStr(f.src) && isStr(f.dst) && isStr(f.role),
  bye: (f) => isStr(f.src),
  ping: (f) => isNum(f.t),
  pong: (f) => isNum(f.t),
  limits: (f) => isNum(f.maxMessage) && (f.maxMessage as number) > 0,
  chunk: (f) => isNum(f.id) && isNum(f.index) && isNum(f.count) && f.data instanceof Uint8Array,
  attached: (f) => Array.isArray(f.sizes) && Array.isArray(f.types) && isObj(f.frame) && ['call', 'result', 'event'].includes(f.frame.kind as string) && frameProblem(f.frame) === undefined,
};

/** A Map, not the record: no lookup can reach Object.prototype ('constructor', '__proto__'), and it is faster. */
const validatorOf = new Map<string, (f: Record<string, unknown>) => boolean>(Object.entries(validators));

/** Why a decoded value is not a frame, or undefined when it is one. */
export function frameProblem(value: unknown): string | undefined {
  if (!isObj(value)) return 'frame is not an object';
  const kind = value.kind;
  const valid = isStr(kind) ? validatorOf.get(kind) : undefined;
  if (!valid) return `unknown frame kind ${JSON.stringify(kind)}`;
  return valid(value) ? undefined : `malformed ${kind} frame`;
}
