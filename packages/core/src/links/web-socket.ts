import { FramedLink, type FramedLinkOptions } from './framed-link.js';
import { ByteInbox } from './byte-inbox.js';
import type { ByteChannel, ByteHandlers, Link } from './link.js';
import { DEFAULT_CONNECT_TIMEOUT } from './connect-timeout.js';
import { settleWithin } from '../wire/signals.js';
import { boundedText } from '../wire/bounded-text.js';
import { ConnectError, connectTimeoutError, webSocketConnectError } from './connect-error.js';

/** What the browser's WebSocket and `ws`'s have in common: all a link needs. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'open' | 'error', listener: (event: unknown) => void): void;
  /** `ws` only: stop and restart reading from the socket (browsers cannot). */
  pause?(): void;
  resume?(): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const CLOSING = 2;

/**
 * The close code a refusal or failure travels with, from the reason's leading error code. 4xxx
 * codes are the application's own (RFC 6455 §7.4.2), shaped after their HTTP namesakes.
 */
export function closeCodeFor(reason: string): number {
  const code = /^([A-Z_]+)[:\s]/.exec(reason)?.[1];
  switch (code) {
    case 'BAD_FRAME':
      return 4400;
    case 'UNAUTHORIZED':
      return 4401;
    case 'VERSION_MISMATCH':
      return 4426;
    case 'PAYLOAD_TOO_LARGE':
      return 1009;
    case 'ID_TAKEN':
      return 4409;
    case 'OVERLOADED':
      return 1013;
    case 'INTERNAL':
      return 1011;
    case 'TIMEOUT':
      return 4408;
    default:
      if (reason.startsWith('heartbeat timeout')) return 4408;
      if (reason.startsWith('replaced')) return 4409;
      return 1000;
  }
}

export interface WebSocketChannelOptions {
  /** Platform code that can tell when the socket's buffer drains (Node's `ws`); browsers cannot. */
  whenDrained?: (threshold: number, listener: () => void) => void;
  /**
   * Platform code that can tell when bytes arrive on `socket`, before a message is whole, and how
   * many the message in flight has announced (Node's `ws`); browsers cannot.
   */
  watchProgress?: (socket: WebSocketLike, listener: (arriving: number) => void) => void;
  /** Platform code that makes `socket` refuse larger messages before buffering them (Node's `ws`). */
  limitIncoming?: (socket: WebSocketLike, bytes: number) => void;
  maxMessageSize?: number;
}

/** A byte channel over an open WebSocket: binary messages only, close codes from reasons. */
export function webSocketChannel(socket: WebSocketLike, options: WebSocketChannelOptions = {}): ByteChannel {
  return new WebSocketChannel(socket, options);
}

/** Set by WebSocketChannel's static block (they reach its private fields). */
let pauseSocket: (this: WebSocketChannel) => void;
let resumeSocket: (this: WebSocketChannel) => void;
let limitSocket: (this: WebSocketChannel, bytes: number) => void;

/**
 * The channel as a class: its methods live once on the prototype. As a literal with a closure per
 * method and getter, each channel cost a server about 1 KiB more, and a server holds thousands.
 */
class WebSocketChannel implements ByteChannel {
  readonly #socket: WebSocketLike;
  readonly #inbox = new ByteInbox();
  readonly #limitIncoming: WebSocketChannelOptions['limitIncoming'];
  readonly whenDrained: ByteChannel['whenDrained'];
  readonly maxMessageSize: number | undefined;
  readonly reportsProgress: boolean;
  // Browsers give each message an ArrayBuffer of its own; ws a Buffer (checked per message).
  readonly ownsReceived = true;

  constructor(socket: WebSocketLike, options: WebSocketChannelOptions) {
    this.#socket = socket;
    if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
    this.whenDrained = options.whenDrained;
    this.maxMessageSize = options.maxMessageSize;
    this.reportsProgress = options.watchProgress !== undefined;
    this.#limitIncoming = options.limitIncoming;
    const inbox = this.#inbox;
    // `ws` also has an EventEmitter face whose 'message' skips building a MessageEvent per message;
    // a text message arrives there as a Buffer with isBinary false.
    const emitter = socket as unknown as {
      on?: (event: 'message', listener: (data: unknown, isBinary: boolean) => void) => void;
    };
    if (typeof emitter.on === 'function')
      emitter.on('message', (data, isBinary) => inbox.receive(isBinary ? data : 'text'));
    else socket.addEventListener('message', ({ data }) => inbox.receive(data));
    // An 'error' is always followed by 'close', which is what we act on; without a listener `ws` would throw it.
    socket.addEventListener('error', ignore);
    socket.addEventListener('close', ({ code, reason }) =>
      inbox.close(`${reason || 'connection closed'} (code ${code})`),
    );
    options.watchProgress?.(socket, (arriving) => inbox.progress(arriving));
  }

  get closed(): boolean {
    return this.#socket.readyState >= CLOSING;
  }

  get bufferedAmount(): number {
    return this.#socket.bufferedAmount;
  }

  /**
   * `ws` can stop reading (browsers cannot): then the link may pause its peer. The getters hand out
   * functions of the prototype, which the link calls as methods of this channel.
   */
  get pause(): ((this: WebSocketChannel) => void) | undefined {
    return this.#socket.pause && this.#socket.resume ? pauseSocket : undefined;
  }

  get resume(): ((this: WebSocketChannel) => void) | undefined {
    return this.#socket.pause && this.#socket.resume ? resumeSocket : undefined;
  }

  get limitIncoming(): ((this: WebSocketChannel, bytes: number) => void) | undefined {
    return this.#limitIncoming ? limitSocket : undefined;
  }

  static {
    pauseSocket = function (this: WebSocketChannel) {
      this.#socket.pause!();
    };
    resumeSocket = function (this: WebSocketChannel) {
      this.#socket.resume!();
    };
    limitSocket = function (this: WebSocketChannel, bytes: number) {
      this.#limitIncoming!(this.#socket, bytes);
    };
  }

  send(bytes: Uint8Array): void {
    this.#socket.send(bytes);
  }

  listen(handlers: ByteHandlers): void {
    this.#inbox.listen(handlers);
  }

  close(reason = 'closed'): void {
    const socket = this.#socket;
    if (socket.readyState >= CLOSING) return;
    // A close reason may hold 123 bytes of UTF-8.
    socket.close(closeCodeFor(reason), reason.length > 100 ? `${reason.slice(0, 97)}...` : reason);
  }
}

function ignore(): void {
  // See WebSocketChannel: 'close' follows every 'error'.
}

export interface ConnectWebSocketOptions extends FramedLinkOptions, WebSocketChannelOptions {
  /** The WebSocket class: the global one in browsers, `isomorphic-ws` (which is `ws`) in Node. */
  WebSocket: WebSocketConstructor;
  /** ms to wait for the connection to open. Default 10 s. */
  timeout?: number;
}

/**
 * Opens a WebSocket to `url` and resolves with a link over it once it is open; rejects with a
 * ConnectError naming the real cause where the platform tells it (Node: refused, DNS, TLS, the
 * HTTP status of a refused upgrade; browsers hide it), or its timeout.
 */
export function connectWebSocket(url: string, options: ConnectWebSocketOptions): Promise<Link> {
  let socket: WebSocketLike;
  try {
    socket = new options.WebSocket(url);
  } catch (cause) {
    return Promise.reject(
      new ConnectError(
        'INVALID_CONFIG',
        `cannot open a WebSocket to ${url}: ${boundedText(cause instanceof Error ? cause.message : cause, 200)}`,
        { failure: 'invalid', url, cause },
      ),
    );
  }
  // Browsers deliver Blobs unless told otherwise; ws's Buffers are used as they come (no copy).
  if (socket.binaryType === 'blob') socket.binaryType = 'arraybuffer';
  // 'close' follows an 'error' and settles the wait; the error (ws gives one, browsers none) says why.
  let failure: unknown;
  socket.addEventListener('error', (event) => (failure = (event as { error?: unknown } | undefined)?.error));
  const ms = options.timeout ?? DEFAULT_CONNECT_TIMEOUT;
  return settleWithin<Link>(
    ms,
    (settle) => {
      socket.addEventListener('close', ({ code, reason }) =>
        settle.reject(webSocketConnectError(url, failure, code, reason)),
      );
      socket.addEventListener('open', () =>
        settle.resolve(new FramedLink(webSocketChannel(socket, options), options)),
      );
      // A socket that did not open in time is let go (closing a closed one does nothing).
      return (error) => {
        if (error !== undefined) socket.close();
      };
    },
    (settle) => settle.reject(connectTimeoutError(url, ms)),
  );
}
