import { joinOverWebSocket, type FederationMember, type JoinFederationOptions, type WebSocketConstructor } from '@oiafed/core';
import WebSocket from 'isomorphic-ws';

/** Joins a trainer over WebSocket as a learner, reconnecting with backoff until `close()`. */
export function joinFederation(options: JoinFederationOptions): Promise<FederationMember> {
  return joinOverWebSocket(WebSocket as unknown as WebSocketConstructor, options);
}
