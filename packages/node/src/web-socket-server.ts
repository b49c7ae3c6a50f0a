import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Codec, DEFAULT_MAX_PAYLOAD, FramedLink, OiafedError, webSocketChannel, type Node, type WebSocketLike } from '@oiafed/core';
import { WebSocketServer, type WebSocket } from 'ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { watchWsProgress } from './ws-progress.js';

export interface WebSocketServerOptions {
  /** The trainer's node: every connection is a link it accepts (and a learner must say hello on). */
  node: Node;
  /** Standalone: the port to listen on (0 picks a free one). */
  port?: number;
  host?: string;
  /** Or attach to your own http/https server. */
  server?: HttpServer;
  /** URL path to accept upgrades on (default: any). */
  path?: string;
  /** Origins allowed to connect (browsers send one); others are refused with HTTP 403. Default: any. */
  origins?: readonly string[];
  /**
   * Largest WebSocket message, bytes; a larger one closes the connection with 1009. Default 32 MiB.
   * Learners are told it and send typed arrays up to that size whole (no chunks, no copies): the
   * server hears each message's bytes as they arrive, so a large one keeps its sender alive.
   */
  maxPayload?: number;
  /** Largest frame once reassembled from chunks, bytes. Default 256 MiB. */
  maxFrameBytes?: number;
  /** Chunk size for large frames the trainer sends. Default 1 MiB (learners' default too: keep maxPayload above it). */
  chunkSize?: number;
}

export interface WebSocketTrainerServer {
  /** ws://host:port/path, for learners to connect to. */
  url: string;
  port: number;
  readonly wss: WebSocketServer;
  /** Stops accepting, closes every connection, and (standalone) the listening socket. */
  close(): Promise<void>;
}

/** Serves a trainer node over WebSocket (`ws`): each connection becomes a link, chunked and paced. */
export async function serveWebSocket(options: WebSocketServerOptions): Promise<WebSocketTrainerServer> {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const codec = new Codec({ maxFrameBytes: options.maxFrameBytes ?? 256 * 1024 * 1024 });
  const origins = options.origins ? new Set(options.origins) : undefined;
  const wss = new WebSocketServer({
    ...(options.server ? { server: options.server } : { port: options.port ?? 0, host: options.host ?? '127.0.0.1' }),
    ...(options.path ? { path: options.path } : {}),
    maxPayload,
    verifyClient: origins
      ? (info: { origin: string }, done: (ok: boolean, code?: number, message?: string) => void) =>
          origins.has(info.origin) ? done(true) : done(false, 403, `origin ${info.origin || '(none)'} is not allowed`)
      : undefined,
  });
  wss.on('connection', (socket: WebSocket) => {
    // ws reports a refused message (over maxPayload, bad UTF-8) as 'error' before closing with its code: the close is what we act on.
    socket.on('error', () => undefined);
    const channel = webSocketChannel(socket as unknown as WebSocketLike, { whenDrained: drainOf(socket), watchProgress: watchWsProgress, maxMessageSize: maxPayload });
    options.node.accept(new FramedLink(channel, { codec, chunkSize: Math.min(options.chunkSize ?? 1024 * 1024, maxPayload - 64), allocate: allocateUnzeroed }));
  });
  if (!options.server) {
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
  }
  const address = (options.server ?? wss).address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `ws://${host}:${address.port}${options.path ?? ''}`,
    port: address.port,
    wss,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** `ws` reports writes through the TCP socket's 'drain': wait on it rather than on a timer. */
function drainOf(socket: WebSocket): (threshold: number, listener: () => void) => void {
  return (threshold, listener) => {
    const tcp = (socket as unknown as { _socket?: { once(e: 'drain' | 'close', l: () => void): void; off(e: 'drain' | 'close', l: () => void): void } })._socket;
    if (!tcp || socket.bufferedAmount <= threshold) return listener();
    const done = () => {
      tcp.off('drain', done);
      tcp.off('close', done);
      if (socket.bufferedAmount <= threshold || socket.readyState !== socket.OPEN) listener();
      else drainOf(socket)(threshold, listener);
    };
    tcp.once('drain', done);
    tcp.once('close', done);
  };
}
