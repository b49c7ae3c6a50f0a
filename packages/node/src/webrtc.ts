import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { acceptPeerConnections, OiafedError, type Node, type PeerLike } from '@oiafed/core';
import WebSocket from 'ws';

const require = createRequire(import.meta.url);

/**
 * PeerJS needs a browser's WebSocket and WebRTC classes. In Node they come from `ws` and
 * node-datachannel's polyfill, set on globalThis only where the platform has none.
 */
export function installWebRtcGlobals(): void {
  const g = globalThis as Record<string, unknown>;
  const polyfill = require('node-datachannel/polyfill') as Record<string, unknown>;
  g.WebSocket ??= WebSocket;
  for (const name of ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate']) g[name] ??= polyfill[name];
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

/** Starts a PeerJS signalling server (the `peer` package): peers meet there, then talk directly. */
export async function servePeerSignalling(options: SignallingOptions = {}): Promise<SignallingServer> {
  const { PeerServer } = require('peer') as { PeerServer: (o: object, ready: (server: { address(): AddressInfo; close(cb: () => void): void }) => void) => unknown };
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/';
  const server = await new Promise<{ address(): AddressInfo; close(cb: () => void): void }>((resolve) => {
    PeerServer({ host, port: options.port ?? 0, path, allow_discovery: false }, resolve);
  });
  return { host, port: server.address().port, path, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface PeerOptions {
  signalling: { host: string; port: number; path?: string };
  /** STUN/TURN servers; default none (no public servers). */
  iceServers?: { urls: string | string[]; username?: string; credential?: string }[];
  /** ms to reach the signalling server. Default 10 s. */
  timeout?: number;
}

/** A PeerJS peer with this id, registered with the signalling server (Node: after installWebRtcGlobals). */
export function createPeer(id: string, options: PeerOptions): Promise<PeerLike & { destroy(): void }> {
  installWebRtcGlobals();
  const { Peer } = require('peerjs') as { Peer: new (id: string, o: object) => PeerLike & { destroy(): void; on(e: 'open' | 'error', l: (x: unknown) => void): void } };
  return new Promise((resolve, reject) => {
    const peer = new Peer(id, {
      host: options.signalling.host,
      port: options.signalling.port,
      path: options.signalling.path ?? '/',
      secure: false,
      debug: 0,
      config: { iceServers: options.iceServers ?? [] },
    });
    const timer = setTimeout(() => {
      peer.destroy();
      reject(new OiafedError('TIMEOUT', `peer ${id}: no answer from the signalling server within ${options.timeout ?? 10_000} ms`));
    }, options.timeout ?? 10_000);
    peer.on('open', () => {
      clearTimeout(timer);
      resolve(peer);
    });
    peer.on('error', (error) => {
      clearTimeout(timer);
      reject(new OiafedError('NOT_CONNECTED', `peer ${id}: ${(error as Error).message}`));
    });
  });
}

/** Lets learners reach `node` over data channels: a peer under the node's id that accepts them. */
export async function serveWebRtc(node: Node, options: PeerOptions): Promise<PeerLike & { destroy(): void }> {
  const peer = await createPeer(node.id, options);
  acceptPeerConnections(peer, (link) => node.accept(link));
  return peer;
}
