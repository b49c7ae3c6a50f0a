import type { WebSocketLike } from '@oiafed/core/internal';

/**
 * What a `ws` (8.x) socket keeps private that links need: its TCP socket, which tells of every read,
 * and its Receiver. The Receiver checks `_maxPayload` against each frame header as it parses it
 * (`haveLength`), before buffering the payload, so a new value holds from the next frame on; and
 * `_totalPayloadLength` is what the headers of the message now arriving have announced, 0 once it
 * is delivered. Pinned by the tests of web-socket-server.budgets.test.ts.
 */
interface WsInternals {
  _socket?: { on(event: 'data', listener: () => void): void };
  _receiver?: { _maxPayload: number; _totalPayloadLength: number };
}

/**
 * `ws` says nothing of a message until it is whole; its TCP socket tells of every read. Counting
 * those as the peer being alive lets a large message travel in one piece, and what the message has
 * announced is counted against the link's budgets while it arrives (`WebSocketChannelOptions.watchProgress`).
 * The listener runs after ws has parsed the read (ws listens first), so a message that came whole
 * in it is already delivered and no longer counts.
 */
export function watchWsProgress(socket: WebSocketLike, listener: (arriving: number) => void): void {
  const ws = socket as unknown as WsInternals;
  ws._socket?.on('data', () => listener(ws._receiver?._totalPayloadLength ?? 0));
}

/**
 * Makes ws refuse (close 1009) a message larger than `bytes` as soon as its header says so, before
 * it buffers any of it: a peer that has not said hello cannot make the server hold more than that.
 */
export function limitWsMessages(socket: WebSocketLike, bytes: number): void {
  const receiver = (socket as unknown as WsInternals)._receiver;
  if (receiver) receiver._maxPayload = bytes;
}

/** The largest message a `ws` client takes unless told otherwise (its `maxPayload` default). */
export const WS_CLIENT_MAX_PAYLOAD = 100 * 1024 * 1024;
