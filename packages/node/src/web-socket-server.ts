import {
  createServer,
  STATUS_CODES,
  type IncomingMessage,
  type RequestListener,
  type Server as HttpServer,
} from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { DEFAULT_MAX_PAYLOAD, type Node, type ServerLimits } from '@oiafed/core';
import {
  ByteBudget,
  Codec,
  FramedLink,
  linkLimits,
  serverLimits,
  webSocketChannel,
} from '@oiafed/core/internal';
import { WebSocketServer, type WebSocket } from 'ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { limitWsMessages, watchWsProgress } from './ws-progress.js';

export interface WebSocketServerOptions {
  /** Standalone: the port to listen on (0 picks a free one). Default 0. */
  port?: number;
  /**
   * Standalone: the interface to listen on. Default `'127.0.0.1'`: only this machine can connect.
   * Give `'0.0.0.0'` (or `'::'`) for learners on other machines, or a given interface's address;
   * then set `origins` and a token, since anyone who can reach the port can try to join.
   */
  host?: string;
  /** Or attach to your own http/https server. */
  server?: HttpServer;
  /** URL path to accept upgrades on (default: any). */
  path?: string;
  /** Origins allowed to connect (browsers send one); others are refused with HTTP 403. Default: any. */
  origins?: readonly string[];
  /** Roles a node may join with over this server (one just for observers, say); others are refused UNAUTHORIZED. */
  roles?: readonly string[];
  /**
   * Answers plain HTTP requests on the server's own port (e.g. `dashboardPage().handler`).
   * Default: 426 Upgrade Required. A server of your own (`server`) answers its requests itself.
   */
  http?: RequestListener;
  /**
   * Largest WebSocket message once a learner has said hello, bytes; a larger one closes the
   * connection with 1009. Default `DEFAULT_MAX_PAYLOAD` (32 MiB, as in the CLI's config).
   * Learners are told it and send typed arrays up to that size whole (no chunks, no copies): the
   * server hears each message's bytes as they arrive, so a large one keeps its sender alive.
   */
  maxPayload?: number;
  /** Largest frame once reassembled from chunks, bytes. Default 256 MiB (linkPartialBytes bounds it too). */
  maxFrameBytes?: number;
  /** Chunk size for large frames the trainer sends. Default 1 MiB (learners' default too: keep maxPayload above it). */
  chunkSize?: number;
  /**
   * What the server grants peers it does not trust (the run config's `security` section has this
   * shape), each at its default where left out: connections at once (more get HTTP 503 at the
   * upgrade), ms for a TCP connection to complete its upgrade, a hello's bytes, partial frames per
   * link and all links together, bytes waiting for one peer. See FramedLink for what each does.
   */
  limits?: Partial<ServerLimits>;
}

export interface WebSocketTrainerServer {
  /** ws://host:port/path, for learners to connect to. */
  url: string;
  port: number;
  readonly wss: WebSocketServer;
  /** Bytes of frames still arriving, all connections together (limit: `limits.totalPartialBytes`). */
  readonly partialBudget: ByteBudget;
  /** Stops accepting, closes every connection, and (standalone) the listening socket. */
  close(): Promise<void>;
}

/**
 * Serves `node` (the trainer) over WebSocket (`ws`): each connection becomes a link it accepts,
 * chunked and paced, on which a learner must say hello. Shaped like `serveWebRtc(node, options)`.
 *
 * Upgrades go through our own handler, on our own http server unless one is given, so that what a
 * stranger costs is bounded before ws allocates anything for it: beyond `maxConnections` the
 * upgrade is refused with HTTP 503, and a TCP connection that has not upgraded within
 * `upgradeTimeout` is destroyed. ws's own limit on a message is a hello's size until the link is
 * established, and `maxPayload` after.
 */
export async function serveWebSocket(
  node: Node,
  options: WebSocketServerOptions = {},
): Promise<WebSocketTrainerServer> {
  const maxPayload = options.maxPayload ?? DEFAULT_MAX_PAYLOAD;
  const limits = serverLimits(options.limits);
  const partialBudget = new ByteBudget(limits.totalPartialBytes);
  const linkOptions = {
    ...linkLimits(limits, partialBudget),
    codec: new Codec({
      maxFrameBytes: options.maxFrameBytes ?? 256 * 1024 * 1024,
      maxDecodedBytes: limits.maxDecodedBytes,
    }),
    chunkSize: Math.min(options.chunkSize ?? 1024 * 1024, maxPayload - 64),
    allocate: allocateUnzeroed,
  };
  const origins = options.origins ? new Set(options.origins) : undefined;
  const wss = new WebSocketServer({
    noServer: true,
    ...(options.path ? { path: options.path } : {}),
    maxPayload: Math.min(limits.helloBytes, maxPayload),
    verifyClient: origins
      ? (info: { origin: string }, done: (ok: boolean, code?: number, message?: string) => void) =>
          origins.has(info.origin)
            ? done(true)
            : done(false, 403, `origin ${info.origin || '(none)'} is not allowed`)
      : undefined,
  });
  wss.on('connection', (socket: WebSocket) => {
    // ws reports a refused message (over maxPayload, bad UTF-8) as 'error' before closing with its code: the
    // close is what we act on.
    socket.on('error', () => undefined);
    const channel = webSocketChannel(socket, {
      whenDrained: drainOf(socket),
      watchProgress: watchWsProgress,
      limitIncoming: limitWsMessages,
      maxMessageSize: maxPayload,
    });
    node.accept(new FramedLink(channel, linkOptions), options.roles ? { roles: options.roles } : {});
  });

  const standalone = !options.server;
  const http =
    options.server ??
    createServer(
      options.http ??
        ((_req, res) =>
          res.writeHead(426, { 'Content-Type': 'text/plain', Connection: 'close' }).end(STATUS_CODES[426])),
    );
  /** TCP connections not yet upgraded, each with the timer that ends it. */
  const upgrading = new Map<Duplex, ReturnType<typeof setTimeout>>();
  /** Sockets let through to ws (upgrading or open): what maxConnections counts. */
  const admitted = new Set<Duplex>();
  const settled = (socket: Duplex) => {
    const raw = rawSocketOf(socket);
    clearTimeout(upgrading.get(raw));
    upgrading.delete(raw);
  };
  const onConnection = (socket: Socket) => {
    // A flood of connections that never upgrade is held to maxConnections at once, not only in time.
    if (upgrading.size >= limits.maxConnections) return void socket.destroy();
    upgrading.set(
      socket,
      setTimeout(() => socket.destroy(), limits.upgradeTimeout),
    );
    socket.once('close', () => settled(socket));
  };
  // A connection that makes an ordinary request (on a server of the user's, or to our `http` handler) is
  // the HTTP server's to time out, not the upgrade's.
  const onRequest = (req: IncomingMessage) => settled(req.socket);
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (!wss.shouldHandle(req)) {
      // Another path: on a server of the user's, another handler's (its socket is not ours to end); on ours, nobody's.
      if (standalone) return refuse(socket, 400, 'no WebSocket endpoint at this path');
      return settled(socket);
    }
    if (admitted.size >= limits.maxConnections)
      return refuse(socket, 503, `the server holds ${limits.maxConnections} connections, its limit`);
    admitted.add(socket);
    forgetOnClose(admitted, socket);
    wss.handleUpgrade(req, socket, head, (ws) => {
      settled(socket);
      wss.emit('connection', ws, req);
    });
  };
  http.on('connection', onConnection);
  http.on('upgrade', onUpgrade);
  if (!standalone || options.http) http.on('request', onRequest);

  if (standalone) {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  }
  const address = http.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    url: `ws://${host}:${address.port}${options.path ?? ''}`,
    port: address.port,
    wss,
    partialBudget,
    close: () =>
      new Promise<void>((resolve) => {
        http.off('connection', onConnection);
        http.off('upgrade', onUpgrade);
        http.off('request', onRequest);
        for (const [socket, timer] of upgrading) {
          clearTimeout(timer);
          if (standalone) socket.destroy();
        }
        upgrading.clear();
        for (const client of wss.clients) client.terminate();
        wss.close(() => (standalone ? http.close(() => resolve()) : resolve()));
      }),
  };
}

/**
 * Takes `socket` out of `sockets` when it closes. A function of its own, so that the listener's
 * closure holds only these two: made inside the upgrade handler, it kept that call's whole scope
 * (the request with its headers, the head buffer) for as long as the connection lived.
 */
function forgetOnClose(sockets: Set<Duplex>, socket: Duplex): void {
  socket.once('close', () => sockets.delete(socket));
}

/** Answers an upgrade with an HTTP error and ends the connection (as ws does for its own refusals). */
function refuse(socket: Duplex, code: number, message: string): void {
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
  );
}

/** The TCP socket under `socket`: itself, or the one a TLS socket of an https server wraps (Node's `_parent`). */
function rawSocketOf(socket: Duplex): Duplex {
  return (socket as { _parent?: Duplex })._parent ?? socket;
}

/** `ws` reports writes through the TCP socket's 'drain': wait on it rather than on a timer. */
function drainOf(socket: WebSocket): (threshold: number, listener: () => void) => void {
  return (threshold, listener) => {
    const tcp = (
      socket as unknown as {
        _socket?: {
          once(e: 'drain' | 'close', l: () => void): void;
          off(e: 'drain' | 'close', l: () => void): void;
        };
      }
    )._socket;
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
