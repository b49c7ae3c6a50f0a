import { createRequire } from 'node:module';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  type FramedLinkOptions,
  type Node,
  type OpenPeer,
  type PeerOptions,
  type ServerLimits,
} from '@oiafed/core';
import { openPeer, serveOverWebRtc, type PeerConstructor } from '@oiafed/core/internal';
import WebSocket from 'ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';

const require = createRequire(import.meta.url);

/**
 * `ws` as a browser WebSocket for PeerJS, which sets no error handler: in Node an 'error' event
 * nobody listens to is an uncaught exception (a signalling server that is down), where a browser
 * only reports it. The close that follows tells PeerJS, and through it us, as in a browser.
 */
class SignallingWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on('error', () => undefined);
  }
}

/**
 * PeerJS needs a browser's WebSocket and WebRTC classes. In Node they come from `ws` and
 * node-datachannel's polyfill, set on globalThis only where the platform has none.
 */
export function installWebRtcGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  const polyfill = require('node-datachannel/polyfill') as Record<string, unknown>;
  g.WebSocket ??= SignallingWebSocket;
  for (const name of ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate'])
    g[name] ??= polyfill[name];
}

export interface SignallingOptions {
  port?: number;
  host?: string;
  /** Default '/'. */
  path?: string;
}

export interface SignallingServer {
  host: string;
  port: number;
  path: string;
  close(): Promise<void>;
}

type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;
type ExpressApp = RequestHandler & { use(handler: RequestHandler): void };

/**
 * Starts a PeerJS signalling server (the `peer` package's, on our own http server so that a taken
 * port is an error to catch, not a crash): peers meet there, then talk directly.
 */
export async function servePeerSignalling(options: SignallingOptions = {}): Promise<SignallingServer> {
  const express = require('express') as () => ExpressApp;
  const { ExpressPeerServer } = require('peer') as {
    ExpressPeerServer: (server: Server, options: object) => RequestHandler;
  };
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  const app = express();
  const server = createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Mounted once listening: its WebSocket server rethrows the server's errors, a taken port too.
  app.use(ExpressPeerServer(server, { path, allow_discovery: false }));
  // Peers hold their WebSocket open: close() ends them, or it would wait for every peer to leave.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return {
    host,
    port: (server.address() as AddressInfo).port,
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** PeerJS's Peer class, on the WebRTC globals (CommonJS default export: see TOOLCHAIN). */
export function peerClass(): PeerConstructor {
  installWebRtcGlobals();
  return (require('peerjs') as { Peer: PeerConstructor }).Peer;
}

/** A PeerJS peer with this id, registered with the signalling server. */
export function createPeer(id: string, options: PeerOptions): Promise<OpenPeer> {
  return openPeer(peerClass(), id, options);
}

/**
 * Lets learners reach `node` over data channels: a peer under the node's id that accepts them,
 * within `limits` (the run config's `security` budgets; see serveOverWebRtc).
 */
export function serveWebRtc(
  node: Node,
  options: PeerOptions & { link?: FramedLinkOptions; limits?: Partial<ServerLimits> },
): Promise<OpenPeer> {
  return serveOverWebRtc(peerClass(), node, {
    ...options,
    link: { allocate: allocateUnzeroed, ...options.link },
  });
}
