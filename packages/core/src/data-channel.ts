import { FramedLink, type FramedLinkOptions } from './framed-link.js';
import { OiafedError } from './errors.js';
import { ByteInbox } from './byte-inbox.js';
import type { ByteChannel, Link } from './link.js';

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
}

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
  const maxMessageSize = Math.min(connection.peerConnection?.sctp?.maxMessageSize || DEFAULT_MAX_MESSAGE, DEFAULT_MAX_MESSAGE);
  return {
    get closed() {
      return inbox.closedWith !== undefined || !connection.open;
    },
    get bufferedAmount() {
      return channel?.bufferedAmount ?? 0;
    },
    maxMessageSize,
    ...(channel
      ? {
          whenDrained(threshold: number, listener: () => void) {
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
export function connectPeer(peer: PeerLike, id: string, options: FramedLinkOptions & { timeout?: number } = {}): Promise<Link> {
  return new Promise((resolve, reject) => {
    const connection = peer.connect(id, { serialization: 'raw', reliable: true });
    const timer = setTimeout(() => {
      connection.close();
      reject(new OiafedError('TIMEOUT', `no data channel to ${id} within ${options.timeout ?? 15_000} ms`));
    }, options.timeout ?? 15_000);
    connection.on('error', (error) => {
      clearTimeout(timer);
      reject(new OiafedError('NOT_CONNECTED', `cannot open a data channel to ${id}: ${error.message ?? 'error'}`));
    });
    connection.on('open', () => {
      clearTimeout(timer);
      resolve(new FramedLink(dataConnectionChannel(connection), options));
    });
  });
}

/** Hands every data channel other peers open to this one to `accept` (a node's accept). */
export function acceptPeerConnections(peer: PeerLike, accept: (link: Link) => void, options: FramedLinkOptions = {}): void {
  peer.on('connection', (connection) => connection.on('open', () => accept(new FramedLink(dataConnectionChannel(connection), options))));
}
