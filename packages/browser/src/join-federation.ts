import { type FederationMember, type JoinFederationOptions, type JoinOverWebRtcOptions } from '@oiafed/core';
import { joinOverWebRtc, joinOverWebSocket } from '@oiafed/core/internal';
import WebSocket from 'isomorphic-ws';
import { sessionResumeStore } from './session-resume-store.js';
import { Peer } from './webrtc.js';

/**
 * Embeds a learner in a page: joins the trainer over WebSocket (given `url`) or over a WebRTC
 * data channel (given `signalling` and the `trainer`'s peer id), reconnects with backoff when the
 * link drops, and reports its state (`onStatus`, from 'connecting' before the join resolves, and
 * `member.events.on("status", ...)` after). A first join that keeps failing rejects with a
 * ConnectError after `joinTimeout` (default 30 s) or `retry.maxAttempts`. A browser does not tell
 * a page why a WebSocket failed to open (refused, DNS, TLS, a 403 for its origin): the error says
 * so, and the devtools show the cause.
 */
export function joinFederation(
  options: JoinFederationOptions | JoinOverWebRtcOptions,
): Promise<FederationMember> {
  // A page that names its learner keeps the trainer's resume secret across reloads of this tab.
  const resume =
    options.id !== undefined && options.resumeStore === undefined
      ? {
          resumeStore: sessionResumeStore(
            'url' in options
              ? // With a list (aggregators to re-home to), the secret is kept per list: whichever it joined.
                typeof options.url === 'string'
                ? options.url
                : options.url.join(' ')
              : `${typeof options.signalling === 'string' ? options.signalling : JSON.stringify(options.signalling)}#${options.trainer}`,
            options.id,
          ),
        }
      : {};
  if ('url' in options) return joinOverWebSocket(WebSocket, { ...options, ...resume });
  return joinOverWebRtc(Peer, { ...options, ...resume });
}
