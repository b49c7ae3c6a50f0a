import { ByteBudget } from './byte-budget.js';
import { linkLimits, serverLimits, type ServerLimits } from './limits.js';
import { acceptPeerConnections, type PeerError, type PeerLike } from './data-channel.js';
import { OiafedError } from '../wire/errors.js';
import type { FramedLinkOptions } from './framed-link.js';
import type { Link } from './link.js';
import { DEFAULT_CONNECT_TIMEOUT } from './connect-timeout.js';
import { onceWithTimeout, settleWithin } from '../wire/signals.js';

/** Where the PeerJS signalling server listens: an address, or a URL such as `http://127.0.0.1:9000/`. */
export type SignallingAddress = { host: string; port: number; path?: string; secure?: boolean } | string;

export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

export interface PeerOptions {
  signalling: SignallingAddress;
  /** STUN/TURN servers; default none (no public servers: peers on one network need none). */
  iceServers?: IceServer[];
  /** ms to reach the signalling server. Default 10 s. */
  signallingTimeout?: number;
}

/** A PeerJS peer registered with its signalling server. */
export interface OpenPeer extends PeerLike {
  /** Lost the signalling server (the peer's data channels may still be open). */
  readonly disconnected: boolean;
  readonly destroyed: boolean;
  /** Registered with the signalling server right now. */
  readonly open: boolean;
  reconnect(): void;
  disconnect(): void;
  destroy(): void;
}

/** What a PeerJS `Peer` class offers; passed in so the core needs neither PeerJS nor a platform. */
export type PeerConstructor = new (id: string, options: object) => OpenPeer & OpenEvents;

interface OpenEvents {
  on(event: 'open', listener: () => void): void;
  off(event: 'open', listener: () => void): void;
}

/** The signalling address as PeerJS takes it (host, port, path, secure). */
export function signallingAddress(address: SignallingAddress): {
  host: string;
  port: number;
  path: string;
  secure: boolean;
} {
  if (typeof address !== 'string') return { path: '/', secure: false, ...address };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new OiafedError(
      'INVALID_CONFIG',
      `signalling ${JSON.stringify(address)} is not a URL (e.g. http://127.0.0.1:9000/)`,
    );
  }
  const secure = url.protocol === 'https:' || url.protocol === 'wss:';
  if (!secure && url.protocol !== 'http:' && url.protocol !== 'ws:')
    throw new OiafedError('INVALID_CONFIG', `signalling ${address}: use http(s) or ws(s)`);
  return { host: url.hostname, port: Number(url.port || (secure ? 443 : 80)), path: url.pathname, secure };
}

/** Registers a peer under `id` with the signalling server; resolves once the server has taken it. */
export function openPeer(Peer: PeerConstructor, id: string, options: PeerOptions): Promise<OpenPeer> {
  const timeout = options.signallingTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  return onceWithTimeout<OpenPeer>(timeout, `peer ${id}: no answer from the signalling server`, (settle) => {
    const peer = new Peer(id, {
      ...signallingAddress(options.signalling),
      debug: 0,
      config: { iceServers: options.iceServers ?? [] },
    });
    const opened = () => settle.resolve(peer);
    const failed = (error: PeerError) => {
      // A taken id is a refusal, like a wrong token: another attempt would get the same answer.
      const code =
        error.type === 'unavailable-id' || error.type === 'invalid-id' ? 'INVALID_CONFIG' : 'NOT_CONNECTED';
      settle.reject(new OiafedError(code, `peer ${id}: ${error.message ?? error.type ?? 'error'}`));
    };
    peer.on('open', opened);
    peer.on('error', failed);
    return (error) => {
      peer.off('open', opened);
      peer.off('error', failed);
      // Before it opens, any failure ends the peer: nothing is left registered or holding a socket.
      if (error !== undefined) peer.destroy();
    };
  });
}

/**
 * Registers the peer with the signalling server again if it lost it (a restarted trainer may have
 * restarted the server too): new data channels are introduced there.
 */
export function reachSignalling(peer: OpenPeer, timeout = DEFAULT_CONNECT_TIMEOUT): Promise<void> {
  if (peer.destroyed) return Promise.reject(new OiafedError('CLOSED', `peer ${peer.id} is destroyed`));
  if (peer.open) return Promise.resolve();
  const events = peer as OpenPeer & OpenEvents;
  const unreachable = (why: string | undefined) =>
    new OiafedError('NOT_CONNECTED', `peer ${peer.id}: signalling server unreachable (${why})`);
  return settleWithin(
    timeout,
    (settle) => {
      const opened = () => settle.resolve();
      const failed = (error: PeerError) => settle.reject(unreachable(error.message ?? error.type));
      events.on('open', opened);
      peer.on('error', failed);
      // Still connecting (an earlier attempt): wait for it; lost: register again.
      if (peer.disconnected) peer.reconnect();
      return (error) => {
        events.off('open', opened);
        peer.off('error', failed);
        // Whatever state the attempt left behind, the next one starts from a clean disconnect.
        if (error !== undefined && !peer.disconnected && !peer.open) peer.disconnect();
      };
    },
    // Not TIMEOUT: to a learner, a server that does not answer is one it cannot reach.
    (settle) => settle.reject(unreachable('timeout')),
  );
}

/**
 * Lets other peers reach `node` over data channels: a peer under the node's id that accepts them,
 * within `limits` (as a WebSocket server's: connections, the time one may take to open, a hello's
 * bytes, partial frames per link and all links together, bytes waiting for one peer). Data
 * channels cannot pause: a link that finds the shared budget full is closed OVERLOADED.
 */
export async function serveOverWebRtc(
  Peer: PeerConstructor,
  node: { readonly id: string; accept(link: Link): void },
  options: PeerOptions & { link?: FramedLinkOptions; limits?: Partial<ServerLimits> },
): Promise<OpenPeer> {
  const peer = await openPeer(Peer, node.id, options);
  const limits = serverLimits(options.limits);
  acceptPeerConnections(peer, (link) => node.accept(link), {
    ...linkLimits(limits, new ByteBudget(limits.totalPartialBytes)),
    ...options.link,
    maxConnections: limits.maxConnections,
    openTimeout: limits.upgradeTimeout,
  });
  return peer;
}
