import { FramedLink, type FramedLinkOptions } from './framed-link.js';
import { OiafedError } from '../wire/errors.js';
import { ByteInbox } from './byte-inbox.js';
import { DEFAULT_LIMITS } from './limits.js';
import { DEFAULT_DATA_CHANNEL_TIMEOUT } from './connect-timeout.js';
import type { ByteChannel, Link } from './link.js';
import { onceWithTimeout } from '../wire/signals.js';

/** What a PeerJS DataConnection (serialization 'raw') offers that a link needs. */
export interface DataConnectionLike {
  readonly open: boolean;
  readonly peer: string;
  send(data: Uint8Array): void;
  close(): void;
  on(event: 'data', listener: (data: unknown) => void): void;
  on(event: 'open' | 'close', listener: () => void): void;
  on(event: 'error', listener: (error: { message?: string }) => void): void;
  readonly dataChannel?: {
    readonly bufferedAmount: number;
    bufferedAmountLowThreshold: number;
    addEventListener(type: 'bufferedamountlow', listener: () => void, options?: { once?: boolean }): void;
    removeEventListener(type: 'bufferedamountlow', listener: () => void): void;
  };
  readonly peerConnection?: { readonly sctp?: { readonly maxMessageSize?: number } | null };
}

/** What a PeerJS Peer offers that joining and accepting need. */
export interface PeerLike {
  readonly id: string;
  connect(id: string, options: { serialization: 'raw'; reliable: boolean }): DataConnectionLike;
  on(event: 'connection', listener: (connection: DataConnectionLike) => void): void;
  on(event: 'error', listener: (error: PeerError) => void): void;
  on(event: 'disconnected', listener: () => void): void;
  off(event: 'error', listener: (error: PeerError) => void): void;
  off(event: 'disconnected', listener: () => void): void;
}

/** PeerJS reports a peer the signalling server does not know on the Peer, not on the connection. */
export interface PeerError {
  type?: string;
  message?: string;
}

const LIMITS = DEFAULT_LIMITS;

/** Chrome's limit when the remote does not say (the SCTP default). */
const DEFAULT_MAX_MESSAGE = 256 * 1024;

/**
 * A byte channel over a WebRTC data channel (through PeerJS): binary messages, sends paced by
 * `bufferedAmount` and the 'bufferedamountlow' event, messages kept under the SCTP limit.
 */
export function dataConnectionChannel(connection: DataConnectionLike): ByteChannel {
  const inbox = new ByteInbox();
  connection.on('data', (data) => inbox.receive(data));
  connection.on('close', () => inbox.close('data channel closed'));
  connection.on('error', (error) => inbox.close(`data channel failed: ${error.message ?? 'error'}`));
  const channel = connection.dataChannel;
  // No figure, or 0, leaves our own limit.
  const sctpMax = connection.peerConnection?.sctp?.maxMessageSize;
  const maxMessageSize = sctpMax ? Math.min(sctpMax, DEFAULT_MAX_MESSAGE) : DEFAULT_MAX_MESSAGE;
  return {
    get closed() {
      return inbox.closedWith !== undefined || !connection.open;
    },
    get bufferedAmount() {
      return channel?.bufferedAmount ?? 0;
    },
    maxMessageSize,
    ownsReceived: true,
    ...(channel
      ? {
          whenDrained(threshold: number, listener: () => void): void {
            if (channel.bufferedAmount <= threshold) return listener();
            channel.bufferedAmountLowThreshold = threshold;
            channel.addEventListener('bufferedamountlow', listener, { once: true });
          },
        }
      : {}),
    send: (bytes) => connection.send(bytes),
    listen: (handlers) => inbox.listen(handlers),
    close(reason = 'closed') {
      if (inbox.closedWith !== undefined) return;
      connection.close();
      inbox.close(reason);
    },
  };
}

/** Opens a data channel to peer `id` and resolves with a link over it once it is open. */
export function connectPeer(
  peer: PeerLike,
  id: string,
  options: FramedLinkOptions & { timeout?: number } = {},
): Promise<Link> {
  const timeout = options.timeout ?? DEFAULT_DATA_CHANNEL_TIMEOUT;
  return onceWithTimeout<Link>(timeout, `no data channel to ${id}`, (settle) => {
    const connection = peer.connect(id, { serialization: 'raw', reliable: true });
    // Once open, failures are the channel's to report: a settled wait ignores them.
    const fail = (error: OiafedError) => settle.reject(error);
    const unavailable = (error: PeerError) => {
      if (error.type === 'peer-unavailable' && error.message?.includes(id))
        fail(new OiafedError('NOT_CONNECTED', `no peer ${id} at the signalling server`));
    };
    // The offer goes through the signalling server: without it the channel will never open.
    const lost = () =>
      fail(
        new OiafedError('NOT_CONNECTED', `lost the signalling server while opening a data channel to ${id}`),
      );
    peer.on('error', unavailable);
    peer.on('disconnected', lost);
    connection.on('error', (error) =>
      fail(
        new OiafedError('NOT_CONNECTED', `cannot open a data channel to ${id}: ${error.message ?? 'error'}`),
      ),
    );
    connection.on('open', () => settle.resolve(new FramedLink(dataConnectionChannel(connection), options)));
    return (error) => {
      peer.off('error', unavailable);
      peer.off('disconnected', lost);
      if (error !== undefined) connection.close();
    };
  });
}

export interface AcceptPeerOptions extends FramedLinkOptions {
  /** Data channels held at once, opening or open; more are closed as they are offered. Default 2,000. */
  maxConnections?: number;
  /** ms an offered data channel may take to open; then it is closed. Default 5 s. */
  openTimeout?: number;
}

/**
 * Hands every data channel other peers open to this one to `accept` (a node's accept). Each one
 * offered costs a peer connection (native resources in Node) before it opens: they are capped in
 * number, and one that does not open in time is closed.
 */
export function acceptPeerConnections(
  peer: PeerLike,
  accept: (link: Link) => void,
  options: AcceptPeerOptions = {},
): void {
  const max = options.maxConnections ?? LIMITS.maxConnections;
  const openTimeout = options.openTimeout ?? LIMITS.upgradeTimeout;
  let held = 0;
  peer.on('connection', (connection) => {
    if (held >= max) return connection.close();
    held += 1;
    let counted = true;
    // PeerJS says 'close' only of a connection that had opened: one closed before is let go here.
    const release = () => {
      if (counted) held -= 1;
      counted = false;
    };
    const timer = setTimeout(() => {
      release();
      connection.close();
    }, openTimeout);
    connection.on('close', release);
    connection.on('open', () => {
      clearTimeout(timer);
      accept(new FramedLink(dataConnectionChannel(connection), options));
    });
  });
}
