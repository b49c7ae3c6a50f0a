import type { Envelope } from './envelope.js';
import type { OiafedError } from './errors.js';

/** What a sender may hand over instead of copying (the sender loses access to it). */
export type Transferable = ArrayBuffer;

export interface LinkHandlers {
  frame(frame: Envelope): void;
  /** Called once, when either side closes or the channel fails. */
  close(reason: string): void;
  /** A frame arrived that could not be read (garbage, too large, unknown kind). */
  error?(error: OiafedError): void;
}

/**
 * A duplex channel between two nodes: send a frame, receive frames, learn of the close. An adapter
 * is the glue between this and one platform API; limits, chunking and liveness live in the core.
 */
export interface Link {
  /** Throws DISCONNECTED once the link is closed. */
  send(frame: Envelope, transfer?: readonly Transferable[]): void;
  /** Sets the one consumer of this link. Frames that arrived before it are delivered to it. */
  listen(handlers: LinkHandlers): void;
  close(reason?: string): void;
  readonly closed: boolean;
}

/** Raw bytes in, raw bytes out: what WebSocket, WebRTC and strict memory links are made of. */
export interface ByteChannel {
  send(bytes: Uint8Array): void;
  listen(handlers: { data(bytes: Uint8Array): void; close(reason: string): void }): void;
  close(reason?: string): void;
  readonly closed: boolean;
}
