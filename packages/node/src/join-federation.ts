import { type FederationMember, type JoinFederationOptions, type JoinOverWebRtcOptions } from '@oiafed/core';
import { joinOverWebRtc, joinOverWebSocket } from '@oiafed/core/internal';
import WebSocket from 'isomorphic-ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { peerClass } from './webrtc.js';
import { limitWsMessages, watchWsProgress, WS_CLIENT_MAX_PAYLOAD } from './ws-progress.js';

/**
 * Joins a trainer as a learner, reconnecting with backoff until `close()`: over WebSocket given
 * `url`, over a WebRTC data channel given `signalling` and the `trainer`'s peer id.
 */
export function joinFederation(
  options: JoinFederationOptions | JoinOverWebRtcOptions,
): Promise<FederationMember> {
  if ('url' in options) {
    // Like the server, a Node learner hears its messages arrive, and says so: the trainer then sends it models whole.
    // And like the server, until it is welcomed it takes only a hello's worth of bytes from the other end.
    const link = {
      allocate: allocateUnzeroed,
      watchProgress: watchWsProgress,
      limitIncoming: limitWsMessages,
      maxMessageSize: WS_CLIENT_MAX_PAYLOAD,
      ...options.link,
    };
    return joinOverWebSocket(WebSocket, { ...options, link });
  }
  return joinOverWebRtc(peerClass(), { ...options, link: { allocate: allocateUnzeroed, ...options.link } });
}
