import { joinOverWebSocket, type FederationMember, type JoinFederationOptions, type WebSocketConstructor } from '@oiafed/core';
import WebSocket from 'isomorphic-ws';

/**
 * Embeds a learner in a page: joins the trainer at `url` over WebSocket, reconnects with backoff
 * when the link drops, and reports its state (`member.events.on("status", ...)`).
 */
export function joinFederation(options: JoinFederationOptions): Promise<FederationMember> {
  return joinOverWebSocket(WebSocket as unknown as WebSocketConstructor, options);
}
