export { PROTOCOL_VERSION, BROADCAST } from './wire/envelope.js';
export type {
  NodeId,
  Meta,
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
export { OiafedError, RemoteError, isOiafedError, toWireError, fromWireError } from './wire/errors.js';
export type { ErrorCode, WireError } from './wire/errors.js';
export { Codec, DEFAULT_MAX_FRAME_BYTES } from './wire/codec.js';
export type { CodecOptions } from './wire/codec.js';
export type { Link, LinkHandlers, ByteChannel, ByteHandlers, Transferable } from './links/link.js';
export { FramedLink } from './links/framed-link.js';
export type { FramedLinkOptions } from './links/framed-link.js';
export { ByteBudget } from './links/byte-budget.js';
export { serverLimits, linkLimits, DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD } from './links/limits.js';
export type { ServerLimits, LinkLimits } from './links/limits.js';
export { MemoryLink, memoryLinkPair } from './links/memory-link.js';
export { joinInMemory } from './connect/join-in-memory.js';
export type { MemoryLinkOptions } from './links/memory-link.js';
export { MemoryPort } from './links/memory-channel.js';
export { assertWireSafe } from './wire/wire-safe.js';
export { Node, exposedMethods } from './rpc/node.js';
export type { NodeOptions, JoinOptions, PeerInfo, NodeEvents, NodeStats, EventHandler } from './rpc/node.js';
export { createProxy } from './rpc/proxy.js';
export type { RemoteProxy, RemoteMethod, ProxyBuiltins, CallOptions, EventMap, MethodName, ArgsOf, ResultOf } from './rpc/proxy.js';
export { ProxyCollection } from './rpc/proxy-collection.js';
export type { Settled, CollectOptions } from './rpc/proxy-collection.js';
export { currentCall } from './rpc/call-context.js';
export type { CallContext } from './rpc/call-context.js';
export { Router } from './membership/router.js';
export { judgeHello } from './membership/registry.js';
export type { RelayKind, RelayParty, RelayPolicy } from './membership/relay-policy.js';
export type { ClientInfo, ClientState, ClientDirectory, Authenticate, Credentials } from './membership/registry.js';
export { Heartbeat, DEFAULT_HEARTBEAT } from './membership/heartbeat.js';
export type { HeartbeatOptions } from './membership/heartbeat.js';
export { intercept, loggingInterceptor, authInterceptor, compressionInterceptor } from './rpc/interceptors.js';
export type { Interceptor, DataFrame, CompressionOptions } from './rpc/interceptors.js';
export { DEFAULT_RETRY, RETRIABLE_CODES, retryDelay, isRetriable, withRetry } from './rpc/retry.js';
export { CancelScope } from './rpc/cancel-scope.js';
export { delay, onceWithTimeout, withTimeout } from './wire/signals.js';
export type { CancelSignal } from './wire/signals.js';
export type { RetryPolicy, RetryStrategy } from './rpc/retry.js';
export { transfer } from './rpc/transfer.js';
export { isNodeId, assertNodeId, randomNodeId } from './wire/node-id.js';
export { seededRandom, deriveSeed, shuffle } from './fl/random.js';
export { Federation } from './fl/federation.js';
export type { FederationOptions, FederationEvents, FederationState, FederationStatus, FederationResult, ClientActivity } from './fl/federation.js';
export { Trainer, requireResults } from './fl/trainer.js';
export type { RoundContext, GatherOutcome, TrainOutcome, EvaluateOutcome, Aggregator } from './fl/trainer.js';
export { FedAvg, FedProx, createTrainer } from './fl/fedavg.js';
export type { FedProxOptions, TrainerName } from './fl/fedavg.js';
export type { Learner, LearnerProxy, TrainParams, TrainResult, EvaluateParams, EvaluateResult } from './fl/learner.js';
export { WeightedMean, accumulate, weightedMetrics } from './fl/weighted-mean.js';
export { tensor, cloneWeights, parameterCount, weightsBytes, layoutMismatch, modelProblem, firstNonFinite, maxAbsDiff } from './fl/weights.js';
export type { Tensor, Weights, Metrics } from './fl/weights.js';
export { selectClients } from './fl/selection.js';
export type { Selection } from './fl/selection.js';
export { MemoryCheckpointStore } from './fl/checkpoint.js';
export type { Checkpoint, CheckpointStore } from './fl/checkpoint.js';
export type { RoundSummary, ClientFailure, RoundFailure } from './fl/round.js';
export { DEFAULT_EXCLUDE } from './fl/exclusion.js';
export type { ExcludeOptions } from './fl/exclusion.js';
export { assertTrainResult, assertEvaluateResult, MAX_METRICS, MAX_METRIC_NAME, DEFAULT_MAX_EXAMPLES } from './fl/result-validation.js';
export type { ResultLimits } from './fl/result-validation.js';
export { resolveConfig, DEFAULT_RUN_CONFIG } from './config.js';
export { createFederation, createNode } from './run.js';
export type { Run, RunParts } from './run.js';
export { DEFAULT_REQUEST_TIMEOUT, LEARNER_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
export { DEFAULT_CONNECT_TIMEOUT } from './links/connect-timeout.js';
export { boundedText, MAX_REPORTED_TEXT } from './wire/bounded-text.js';
export type { RunConfig, RunConfigInput, SecurityConfig, TransportMode, InterceptorName } from './config.js';
export { PortLink, eventTargetEndpoint } from './links/port-link.js';
export type { PortEndpoint, PortEncoding, PortLinkOptions, MessageTargetLike } from './links/port-link.js';
export { hostLearners, answerHostRequest, awaitHosting, isHostRequest, factoryOf, DEFAULT_HOSTING_TIMEOUT } from './fl/learner-host.js';
export type { LearnerContext, LearnerFactory, HostRequest, HostReply, LearnerPoolOptions } from './fl/learner-host.js';
export { webSocketChannel, connectWebSocket, closeCodeFor } from './links/web-socket.js';
export type { WebSocketLike, WebSocketConstructor, WebSocketChannelOptions, ConnectWebSocketOptions } from './links/web-socket.js';
export { Uplink, RECONNECT_POLICY } from './connect/uplink.js';
export type { UplinkOptions, UplinkStatus, UplinkStatusDetail, UplinkEvents, ResumeStore } from './connect/uplink.js';
export { FederationMember, joinOverWebSocket, joinOverWebRtc } from './fl/member.js';
export type { MemberOptions, MemberStatus, MemberState, MemberEvents, JoinFederationOptions, JoinOverWebRtcOptions } from './fl/member.js';
export { dataConnectionChannel, connectPeer, acceptPeerConnections } from './links/data-channel.js';
export type { DataConnectionLike, PeerLike, PeerError, AcceptPeerOptions } from './links/data-channel.js';
export { openPeer, reachSignalling, serveOverWebRtc, signallingAddress } from './links/peer.js';
export type { OpenPeer, PeerConstructor, PeerOptions, SignallingAddress, IceServer } from './links/peer.js';
