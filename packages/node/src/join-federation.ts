import {
  type FederationMember,
  type JoinFederationOptions as WebSocketJoinOptions,
  type JoinOverWebRtcOptions,
} from '@oiafed/core';
import { joinOverWebRtc, joinOverWebSocket, type WebSocketConstructor } from '@oiafed/core/internal';
import WebSocket from 'isomorphic-ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { peerClass } from './webrtc.js';
import { limitWsMessages, watchWsProgress, WS_CLIENT_MAX_PAYLOAD } from './ws-progress.js';

export interface JoinFederationOptions extends WebSocketJoinOptions {
  /**
   * HTTP headers of the WebSocket upgrade, e.g. `{ Origin: 'https://app.example' }` for a server
   * that checks origins (a Node learner sends none otherwise; serveWebSocket's `origins` refuses
   * it with 403), or `{ Authorization: 'Bearer ...' }` for one behind a proxy that wants
   * credentials. Browsers cannot set headers: there the page's origin is sent.
   */
  headers?: Readonly<Record<string, string>>;
}

/** `ws`'s WebSocket, opening every connection with `headers`. */
function withHeaders(headers: Readonly<Record<string, string>>): WebSocketConstructor {
  const own = { ...headers };
  return class extends WebSocket {
    constructor(url: string) {
      super(url, { headers: own });
    }
  };
}

/**
 * Joins a trainer as a learner, reconnecting with backoff until `close()`: over WebSocket given
 * `url` (with `headers` on its upgrade, if given), over a WebRTC data channel given `signalling`
 * and the `trainer`'s peer id. Statuses from the first ('connecting') reach `onStatus`; a first
 * join that keeps failing rejects with a ConnectError naming the cause (refused, dns, http with
 * its status, tls, timeout) after `joinTimeout` (default DEFAULT_JOIN_TIMEOUT, 30 s) or
 * `retry.maxAttempts`.
 */
export function joinFederation(
  options: JoinFederationOptions | JoinOverWebRtcOptions,
): Promise<FederationMember> {
  if ('url' in options) {
    const { headers, ...rest } = options;
    // Like the server, a Node learner hears its messages arrive, and says so: the trainer then sends it models whole.
    // And like the server, until it is welcomed it takes only a hello's worth of bytes from the other end.
    const link = {
      allocate: allocateUnzeroed,
      watchProgress: watchWsProgress,
      limitIncoming: limitWsMessages,
      maxMessageSize: WS_CLIENT_MAX_PAYLOAD,
      ...rest.link,
    };
    return joinOverWebSocket(headers ? withHeaders(headers) : WebSocket, { ...rest, link });
  }
  return joinOverWebRtc(peerClass(), { ...options, link: { allocate: allocateUnzeroed, ...options.link } });
}
