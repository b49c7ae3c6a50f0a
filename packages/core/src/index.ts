export { PROTOCOL_VERSION, BROADCAST } from './envelope.js';
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
} from './envelope.js';
export { OiafedError, RemoteError, isOiafedError, toWireError, fromWireError } from './errors.js';
export type { ErrorCode, WireError } from './errors.js';
export { Codec, DEFAULT_MAX_FRAME_BYTES } from './codec.js';
export type { CodecOptions } from './codec.js';
export type { Link, LinkHandlers, ByteChannel, ByteHandlers, Transferable } from './link.js';
export { FramedLink } from './framed-link.js';
export type { FramedLinkOptions } from './framed-link.js';
export { ByteBudget, serverLimits, linkLimits } from './byte-budget.js';
export type { ServerLimits, LinkLimits } from './byte-budget.js';
export { MemoryLink, memoryLinkPair, joinInMemory } from './memory-link.js';
export type { MemoryLinkOptions } from './memory-link.js';
export { MemoryPort } from './memory-channel.js';
export { assertWireSafe } from './wire-safe.js';
export { Node, exposedMethods } from './node.js';
export type { NodeOptions, JoinOptions, PeerInfo, NodeEvents, NodeStats, EventHandler } from './node.js';
export { createProxy } from './proxy.js';
export type { RemoteProxy, RemoteMethod, ProxyBuiltins, CallOptions, EventMap, MethodName, ArgsOf, ResultOf } from './proxy.js';
export { ProxyCollection } from './proxy-collection.js';
export type { Settled, CollectOptions } from './proxy-collection.js';
export { currentCall } from './call-context.js';
export type { CallContext } from './call-context.js';
export { Router } from './router.js';
export { Registry, judgeHello } from './registry.js';
export type { RelayKind, RelayParty, RelayPolicy } from './relay-policy.js';
export type { ClientInfo, ClientState, Authenticate, Credentials } from './registry.js';
export { Heartbeat, DEFAULT_HEARTBEAT } from './heartbeat.js';
export type { HeartbeatOptions } from './heartbeat.js';
export { intercept, loggingInterceptor, authInterceptor, compressionInterceptor } from './interceptors.js';
export type { Interceptor, DataFrame, CompressionOptions } from './interceptors.js';
export { DEFAULT_RETRY, retryDelay, isRetriable, withRetry, delay } from './retry.js';
export type { RetryPolicy, RetryStrategy } from './retry.js';
export { transfer } from './transfer.js';
export { isNodeId, assertNodeId, randomNodeId } from './node-id.js';
export { seededRandom, deriveSeed, shuffle } from './random.js';
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
export type { ExcludeOptions } from './fl/exclusion.js';
export { assertTrainResult, assertEvaluateResult, MAX_METRICS, MAX_METRIC_NAME } from './fl/result-validation.js';
export type { ResultLimits } from './fl/result-validation.js';
export { resolveConfig, DEFAULT_RUN_CONFIG, DEFAULT_MAX_PAYLOAD } from './config.js';
export { boundedText, MAX_REPORTED_TEXT } from './bounded-text.js';
export type { RunConfig, RunConfigInput, SecurityConfig, TransportMode, InterceptorName } from './config.js';
export { PortLink, eventTargetEndpoint } from './port-link.js';
export type { PortEndpoint, PortEncoding, PortLinkOptions, MessageTargetLike } from './port-link.js';
export { hostLearners, answerHostRequest, awaitHosting, isHostRequest, factoryOf } from './fl/learner-host.js';
export type { LearnerContext, LearnerFactory, HostRequest, HostReply, LearnerPoolOptions } from './fl/learner-host.js';
export { webSocketChannel, connectWebSocket, closeCodeFor } from './web-socket.js';
export type { WebSocketLike, WebSocketConstructor, WebSocketChannelOptions, ConnectWebSocketOptions } from './web-socket.js';
export { Uplink, RECONNECT_POLICY } from './uplink.js';
export type { UplinkOptions, UplinkStatus, UplinkStatusDetail, UplinkEvents, ResumeStore } from './uplink.js';
export { FederationMember, joinOverWebSocket, joinOverWebRtc } from './fl/member.js';
export type { MemberOptions, MemberStatus, MemberState, MemberEvents, JoinFederationOptions, JoinOverWebRtcOptions } from './fl/member.js';
export { dataConnectionChannel, connectPeer, acceptPeerConnections } from './data-channel.js';
export type { DataConnectionLike, PeerLike, PeerError, AcceptPeerOptions } from './data-channel.js';
export { openPeer, reachSignalling, serveOverWebRtc, signallingAddress } from './peer.js';
export type { OpenPeer, PeerConstructor, PeerOptions, SignallingAddress, IceServer } from './peer.js';
