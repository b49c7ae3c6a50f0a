/**
 * oiafed's public API: what a user of the SDK writes (nodes, proxies, federations, trainers,
 * learners, configs, errors). What the platform adapters are built from is in
 * `@oiafed/core/internal`.
 */
export { PROTOCOL_VERSION, BROADCAST } from './wire/envelope.js';
export type { NodeId, Meta } from './wire/envelope.js';
export { OiafedError, RemoteError, isOiafedError } from './wire/errors.js';
export type { ErrorCode, WireError } from './wire/errors.js';
export type { Link, LinkTraffic, Transferable } from './links/link.js';
export type { FramedLinkOptions } from './links/framed-link.js';
export { DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD } from './links/limits.js';
export type { ServerLimits } from './links/limits.js';
export { MemoryLink, memoryLinkPair } from './links/memory-link.js';
export { joinInMemory } from './connect/join-in-memory.js';
export type { MemoryLinkOptions } from './links/memory-link.js';
export { Node, exposedMethods } from './rpc/node.js';
export type {
  NodeOptions,
  JoinOptions,
  PeerInfo,
  NodeEvents,
  NodeStats,
  EventHandler,
  ServeOptions,
  ConfineOptions,
} from './rpc/node.js';
export type { Clock } from './wire/clock.js';
export type {
  RemoteProxy,
  RemoteMethod,
  ProxyBuiltins,
  CallOptions,
  EventMap,
  MethodName,
  ArgsOf,
  ResultOf,
} from './rpc/proxy.js';
export { ProxyCollection } from './rpc/proxy-collection.js';
export type { Settled, CollectOptions } from './rpc/proxy-collection.js';
export { currentCall } from './rpc/call-context.js';
export type { CallContext } from './rpc/call-context.js';
export type { RelayKind, RelayParty, RelayPolicy } from './membership/relay-policy.js';
export type {
  ClientInfo,
  ClientState,
  ClientDirectory,
  Authenticate,
  Credentials,
  RegistryOptions,
} from './membership/registry.js';
export { DEFAULT_RECENT_DEPARTED } from './membership/registry.js';
export { DEFAULT_HEARTBEAT } from './membership/heartbeat.js';
export type { HeartbeatOptions } from './membership/heartbeat.js';
export { loggingInterceptor, authInterceptor, compressionInterceptor } from './rpc/interceptors.js';
export type { Interceptor, DataFrame, CompressionOptions } from './rpc/interceptors.js';
export { DEFAULT_RETRY, RETRIABLE_CODES, isRetriable } from './rpc/retry.js';
export { CancelScope } from './rpc/cancel-scope.js';
export type { CancelSignal } from './wire/signals.js';
export type { RetryPolicy, RetryStrategy } from './rpc/retry.js';
export { transfer } from './rpc/transfer.js';
export { isNodeId, assertNodeId, randomNodeId } from './wire/node-id.js';
export { seededRandom, deriveSeed, shuffle } from './fl/random.js';
export { Federation } from './fl/federation.js';
export { serveLearner } from './fl/serve-learner.js';
export type { SecureAggregationOptions } from './fl/secure/options.js';
export type {
  FederationOptions,
  DrivenRound,
  FederationEvents,
  FederationState,
  FederationStatus,
  FederationResult,
  FederationTelemetry,
  ClientStatus,
  RoundPoint,
  TelemetryQuery,
} from './fl/federation.js';
export { TELEMETRY_INTERVAL, MAX_TELEMETRY_ROWS } from './fl/telemetry.js';
export {
  serveObservers,
  OBSERVER_ROLE,
  TELEMETRY_METHOD,
  CONTROL_METHOD,
  TELEMETRY_EVENT,
  DEFAULT_MAX_OBSERVERS,
} from './fl/observers.js';
export type {
  ObserverOptions,
  ObservedTelemetry,
  TelemetryNotice,
  ControlAction,
  ControlRequest,
} from './fl/observers.js';
export { Strategy } from './fl/strategy.js';
export type { RoundStart, ClientEvaluation } from './fl/strategy.js';
export { Cohort } from './fl/cohort.js';
export type { GatherOutcome, GatherOptions, LearnerMethod, ParamsOf, ClientActivity } from './fl/cohort.js';
export type {
  Aggregation,
  Aggregate,
  ClientUpdate,
  Rejection,
  ServerOptimizer,
  StrategyState,
  StateValue,
} from './fl/aggregation.js';
export { FedAvg, FedProx } from './fl/strategies/fedavg.js';
export type { FedProxOptions } from './fl/strategies/fedavg.js';
export { FedAvgM, FedAdagrad, FedAdam, FedYogi, ServerOptimized } from './fl/strategies/server-optimized.js';
export { FedMedian, FedTrimmedAvg, Krum, CenteredClipping } from './fl/strategies/robust.js';
export { DifferentialPrivacy } from './fl/privacy/differential-privacy.js';
export { DEFAULT_PRIVACY } from './fl/privacy/privacy-options.js';
export type { DifferentialPrivacyOptions, AdaptiveClipping } from './fl/privacy/privacy-options.js';
export type { RoundPrivacy } from './fl/privacy/round-privacy.js';
export { privacyText } from './fl/privacy/privacy-text.js';
export { RdpAccountant, DEFAULT_ORDERS, type AccountantStep } from './fl/privacy/rdp-accountant.js';
export { withLearnerPrivacy, PRIVACY_CONFIG_KEY, type LearnerPrivacy } from './fl/privacy/learner-privacy.js';
export {
  DOWN_CODECS,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_TOPK_FRACTION,
  DEFAULT_TOPK_WARMUP_ROUNDS,
  DEFAULT_TOPK_WARMUP_FRACTION,
  type CodecOptions,
  type DownCodec,
} from './fl/codecs/codec-options.js';
export { topKFractionAt, type TopKWarmup } from './fl/codecs/top-k-warmup.js';
export {
  CODEC_NAMES,
  encodeTensor,
  decodeTensor,
  type CodecName,
  type CodecSettings,
  type EncodedTensor,
} from './fl/codecs/tensor-codec.js';
export {
  encodeWeights,
  encodedWeightsBytes,
  type CompressedUpdate,
  type EncodedModel,
  type EncodedWeights,
} from './fl/codecs/encoded-weights.js';
export {
  withLearnerCodecs,
  CODEC_CONFIG_KEY,
  CODECS_METHOD,
  type CodecRequest,
  type CompressedTrainAnswer,
} from './fl/codecs/learner-codecs.js';
export { MedianAggregation } from './fl/aggregations/coordinate-median.js';
export { TrimmedMeanAggregation, type TrimmedMeanOptions } from './fl/aggregations/trimmed-mean.js';
export { KrumAggregation, type KrumOptions } from './fl/aggregations/krum.js';
export {
  CenteredClippingAggregation,
  type CenteredClippingOptions,
} from './fl/aggregations/centered-clipping.js';
export { FedAvgMOptimizer, type FedAvgMOptions } from './fl/server-optimizers/fedavgm.js';
export { FedAdagradOptimizer, type FedAdagradOptions } from './fl/server-optimizers/fedadagrad.js';
export { FedAdamOptimizer } from './fl/server-optimizers/fedadam.js';
export { FedYogiOptimizer } from './fl/server-optimizers/fedyogi.js';
export type { FedOptOptions } from './fl/server-optimizers/fedopt.js';
export { createStrategy, STRATEGY_NAMES } from './fl/strategies/by-name.js';
export type { StrategyName } from './fl/strategies/by-name.js';
export type {
  Learner,
  LearnerProxy,
  TrainParams,
  TrainResult,
  EvaluateParams,
  EvaluateResult,
} from './fl/learner.js';
export { WeightedMean, WeightedMeanAggregation, accumulate, weightedMetrics } from './fl/weighted-mean.js';
export {
  tensor,
  cloneWeights,
  parameterCount,
  weightsBytes,
  layoutMismatch,
  modelProblem,
  firstNonFinite,
  maxAbsDiff,
} from './fl/weights.js';
export type { Tensor, Weights, Metrics } from './fl/weights.js';
export { selectClients } from './fl/selection.js';
export type { Selection, SelectOptions, Selected } from './fl/selection.js';
export { MemoryCheckpointStore } from './fl/checkpoint.js';
export type { Checkpoint, CheckpointStore } from './fl/checkpoint.js';
export type { RoundSummary, ClientFailure, RoundFailure } from './fl/round.js';
export { DEFAULT_EXCLUDE } from './fl/exclusion.js';
export type { ExcludeOptions } from './fl/exclusion.js';
export {
  assertTrainResult,
  assertEvaluateResult,
  MAX_METRICS,
  MAX_METRIC_NAME,
  DEFAULT_MAX_EXAMPLES,
} from './fl/result-validation.js';
export type { ResultLimits } from './fl/result-validation.js';
export { resolveConfig } from './resolve-config.js';
export { AGGREGATOR_ROLE } from './hierarchy-config.js';
export { DEFAULT_RUN_CONFIG } from './config.js';
export { createFederation, createNode } from './run.js';
export type { Run, RunParts } from './run.js';
export { DEFAULT_REQUEST_TIMEOUT, LEARNER_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
export { DEFAULT_CONNECT_TIMEOUT, DEFAULT_JOIN_TIMEOUT } from './links/connect-timeout.js';
export { ConnectError } from './links/connect-error.js';
export type { ConnectFailure, ConnectErrorDetail } from './links/connect-error.js';
export { boundedText, MAX_REPORTED_TEXT } from './wire/bounded-text.js';
export type {
  RunConfig,
  RunConfigInput,
  SecurityConfig,
  PrivacyConfig,
  TransportMode,
  InterceptorName,
} from './config.js';
export type { LearnerContext, LearnerFactory } from './fl/learner-host.js';
export type { ConnectWebSocketOptions } from './links/web-socket.js';
export type { UplinkStatus, UplinkStatusDetail, ResumeStore } from './connect/uplink.js';
export { FederationMember } from './fl/member.js';
// Hierarchical federation: aggregators between the trainer and its learners.
export { Aggregator, serveAggregator } from './fl/aggregator.js';
export type { AggregatorOptions, AggregatorEvents } from './fl/aggregator.js';
export { hierarchyProblem } from './fl/hierarchy.js';
export { rehoming } from './connect/rehoming.js';
export type {
  MemberOptions,
  MemberStatus,
  MemberState,
  MemberEvents,
  FinishedNotice,
  JoinFederationOptions,
  JoinOverWebRtcOptions,
} from './fl/member.js';
export { RUN_END_EVENT } from './fl/run-end.js';
export type { RunEndNotice, RunEndReason } from './fl/run-end.js';
export type { OpenPeer, PeerOptions, SignallingAddress, IceServer } from './links/peer.js';
