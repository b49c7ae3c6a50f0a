import type { Envelope } from '../wire/envelope.js';
import type { OiafedError } from '../wire/errors.js';

/** What a sender may hand over instead of copying (the sender loses access to it). */
export type Transferable = ArrayBuffer;

/** What a link tells its one listener. Functions, not methods: links hand them on as they are. */
export interface LinkHandlers {
  frame: (frame: Envelope) => void;
  /** Called once, when either side closes or the channel fails. */
  close: (reason: string) => void;
  /** A frame arrived that could not be read (garbage, too large, unknown kind). */
  error?: (error: OiafedError) => void;
  /** Part of a frame arrived (a chunk of a large one): the peer is alive, though nothing is due yet. */
  heard?: () => void;
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
  /**
   * Bytes this link received and sent, counted where frames are encoded (FramedLink: WebSocket,
   * WebRTC, strict memory links). Links that hand frames over as objects (memory links, port links
   * between workers) encode nothing and leave these out.
   */
  readonly bytesIn?: number;
  readonly bytesOut?: number;
  /**
   * The node on this link has finished the handshake (sent or accepted the welcome). Until then a
   * link holds only what a hello needs: an unauthenticated peer gets no room for chunks or
   * attachments. Links without such limits need not implement it.
   */
  established?(): void;
}

/** What one link carried each way, bytes (see `Link.bytesIn`). */
export interface LinkTraffic {
  bytesIn: number;
  bytesOut: number;
}

/** What `link` carried so far, if it counts. */
export function trafficOf(link: Link): LinkTraffic | undefined {
  const { bytesIn, bytesOut } = link;
  return bytesIn === undefined || bytesOut === undefined ? undefined : { bytesIn, bytesOut };
}

export interface ByteHandlers {
  data(bytes: Uint8Array): void;
  /**
   * Bytes of a message still arriving came in (channels with `reportsProgress`). `arriving`: the
   * bytes the platform holds or has been told to expect of that message (0 once none is arriving).
   */
  progress?(arriving?: number): void;
  close(reason: string): void;
  /** Something arrived that is not bytes at all (a text message on a binary protocol). */
  error?(error: OiafedError): void;
}

/** Raw bytes in, raw bytes out: what WebSocket, WebRTC and strict memory links are made of. */
export interface ByteChannel {
  /** The bytes may be kept until written: the caller must not change them afterwards. */
  send(bytes: Uint8Array): void;
  listen(handlers: ByteHandlers): void;
  close(reason?: string): void;
  readonly closed: boolean;
  /** Bytes accepted but not yet written out, where the platform tells (WebSocket, RTCDataChannel). */
  readonly bufferedAmount?: number;
  /**
   * Calls `listener` once `bufferedAmount` has fallen to `threshold` or below; lets senders wait instead of
   * piling up.
   */
  whenDrained?(threshold: number, listener: () => void): void;
  /** The largest message the channel carries, bytes; larger frames are sent in chunks. */
  readonly maxMessageSize?: number;
  /** Calls `progress` while a message is arriving: a large one then shows the peer alive before it is whole. */
  readonly reportsProgress?: boolean;
  /**
   * Every message arrives in memory of its own (a socket's), never the sender's: a large typed
   * array that came whole in one message is handed on as it is, without a copy.
   */
  readonly ownsReceived?: boolean;
  /** Stops reading from the peer until `resume()` (TCP backpressure), where the platform can (Node's `ws`). */
  pause?(): void;
  resume?(): void;
  /**
   * Refuses incoming messages larger than `bytes` before buffering them, where the platform can
   * (Node's `ws`); the link asks for a hello's worth until the handshake is done.
   */
  limitIncoming?(bytes: number): void;
}
