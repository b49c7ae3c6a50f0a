import type { WireError } from './errors.js';

/** Bumped whenever a frame's meaning changes; checked once, in the hello handshake. */
export const PROTOCOL_VERSION = 3;

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
