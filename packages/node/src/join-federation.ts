import { joinOverWebRtc, joinOverWebSocket, type FederationMember, type JoinFederationOptions, type JoinOverWebRtcOptions, type WebSocketConstructor } from '@oiafed/core';
import WebSocket from 'isomorphic-ws';
import { allocateUnzeroed } from './allocate-unzeroed.js';
import { peerClass } from './webrtc.js';

/**
 * Joins a trainer as a learner, reconnecting with backoff until `close()`: over WebSocket given
 * `url`, over a WebRTC data channel given `signalling` and the `trainer`'s peer id.
 */
export function joinFederation(options: JoinFederationOptions | JoinOverWebRtcOptions): Promise<FederationMember> {
  const link = { allocate: allocateUnzeroed, ...options.link };
  if ('url' in options) return joinOverWebSocket(WebSocket as unknown as WebSocketConstructor, { ...options, link });
  return joinOverWebRtc(peerClass(), { ...options, link });
}
