/**
 * What the platform adapters (@oiafed/node, @oiafed/browser) are built from: the wire's frames and
 * codec, byte channels and the link kinds' constructors, the worker-hosting protocol, server
 * budgets, the uplink. A federation's own code needs none of it (`@oiafed/core` is the SDK); it may
 * change between minor versions.
 */
export type {
  Envelope,
  FrameKind,
  CallFrame,
  ResultFrame,
  ErrorFrame,
  CancelFrame,
  EventFrame,
  AckFrame,
  HelloFrame,
  WelcomeFrame,
  ByeFrame,
  PingFrame,
  PongFrame,
  ChunkFrame,
} from './wire/envelope.js';
export { toWireError, fromWireError } from './wire/errors.js';
export { Codec, DEFAULT_MAX_DECODED_BYTES, DEFAULT_MAX_FRAME_BYTES } from './wire/codec.js';
export { decodedSize } from './wire/decoded-size.js';
export { shareValue, sharedValueStats } from './wire/shared-values.js';
export type { CodecOptions } from './wire/codec.js';
export type { LinkHandlers, ByteChannel, ByteHandlers } from './links/link.js';
export { FramedLink } from './links/framed-link.js';
export { ByteBudget } from './links/byte-budget.js';
export { serverLimits, linkLimits } from './links/limits.js';
export type { LinkLimits } from './links/limits.js';
export { MemoryPort } from './links/memory-channel.js';
export { assertWireSafe } from './wire/wire-safe.js';
export { createProxy } from './rpc/proxy.js';
export { Router } from './membership/router.js';
export { judgeHello } from './membership/registry.js';
export { Heartbeat } from './membership/heartbeat.js';
export { intercept } from './rpc/interceptors.js';
export { retryDelay, withRetry } from './rpc/retry.js';
export { delay, onceWithTimeout, withTimeout } from './wire/signals.js';
export { PortLink, eventTargetEndpoint } from './links/port-link.js';
export type { PortEndpoint, PortEncoding, PortLinkOptions, MessageTargetLike } from './links/port-link.js';
export {
  hostLearners,
  answerHostRequest,
  awaitHosting,
  isHostRequest,
  factoryOf,
  DEFAULT_HOSTING_TIMEOUT,
  firstIndexOf,
} from './fl/learner-host.js';
export type { HostRequest, HostReply, LearnerPoolOptions } from './fl/learner-host.js';
export { webSocketChannel, connectWebSocket, closeCodeFor } from './links/web-socket.js';
export type { WebSocketLike, WebSocketConstructor, WebSocketChannelOptions } from './links/web-socket.js';
export { Uplink, RECONNECT_POLICY } from './connect/uplink.js';
export type { UplinkOptions, UplinkEvents } from './connect/uplink.js';
export { joinOverWebSocket, joinOverWebRtc } from './fl/member.js';
export { dataConnectionChannel, connectPeer, acceptPeerConnections } from './links/data-channel.js';
export type { DataConnectionLike, PeerLike, PeerError, AcceptPeerOptions } from './links/data-channel.js';
export { openPeer, reachSignalling, serveOverWebRtc, signallingAddress } from './links/peer.js';
export type { PeerConstructor } from './links/peer.js';
// The privacy benchmark drives a round's training through a cohort of its own (bench/src/privacy.ts).
export { trainTogether } from './fl/sync-round.js';
export { trainSecurely } from './fl/secure/secure-round.js';
export { SecureAggregationClient } from './fl/secure/learner-side.js';
export { resolveSecureAggregation } from './fl/secure/options.js';
export { Compression } from './fl/codecs/trainer-codecs.js';
export { resolveCodecs } from './fl/codecs/codec-options.js';
