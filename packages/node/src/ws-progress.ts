import type { WebSocketLike } from '@oiafed/core';

/**
 * `ws` says nothing of a message until it is whole; its TCP socket tells of every read. Counting
 * those as the peer being alive lets a large message travel in one piece (`WebSocketChannelOptions.watchProgress`).
 */
export function watchWsProgress(socket: WebSocketLike, listener: () => void): void {
  (socket as unknown as { _socket?: { on(event: 'data', listener: () => void): void } })._socket?.on('data', listener);
}

/** The largest message a `ws` client takes unless told otherwise (its `maxPayload` default). */
export const WS_CLIENT_MAX_PAYLOAD = 100 * 1024 * 1024;
