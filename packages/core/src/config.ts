import { DEFAULT_LIMITS, DEFAULT_MAX_PAYLOAD, type ServerLimits } from './links/limits.js';
import type { StrategyName } from './fl/strategies/by-name.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions } from './membership/heartbeat.js';
import type { IceServer } from './links/peer.js';
import { DEFAULT_CONNECT_TIMEOUT } from './links/connect-timeout.js';
import { DEFAULT_REQUEST_TIMEOUT } from './rpc/request-timeout.js';
import { DEFAULT_EXCLUDE } from './fl/exclusion.js';
import { DEFAULT_RECENT_DEPARTED } from './membership/registry.js';
import { DEFAULT_MAX_EXAMPLES } from './fl/result-validation.js';
import { DEFAULT_MAX_OBSERVERS } from './fl/observers.js';
import type { SecureAggregationOptions } from './fl/secure/options.js';
import type { CodecOptions } from './fl/codecs/codec-options.js';
import type { AdaptiveClipping, DifferentialPrivacyOptions } from './fl/privacy/privacy-options.js';

export type TransportMode = 'memory' | 'worker' | 'websocket' | 'webrtc';
export type InterceptorName = 'logging' | 'compression';

/** One typed object for a whole run. In Node the same shape loads from YAML (`oiafed serve run.yaml`). */
export interface RunConfig {
  /**
   * The trainer's node: its id and its role (what learners and relay rules see). With role
   * `aggregator` it is a level of a hierarchy: a learner of `parent` and the trainer of its own
   * learners, whose rounds are its parent's (see the README's Hierarchical federation).
   */
  node: {
    id: string;
    role: string;
    /**
     * An aggregator's parent (its trainer, or an aggregator above it): WebSocket URLs tried in turn,
     * the first its home, the others where it re-homes when that one is gone.
     */
    parent?: string[];
    /** The token the parent wants (its transport.token), when it wants one. */
    parentToken?: string;
    /**
     * The parent's `security.maxExamples` (default 1e9, its default): the most the aggregator
     * reports its learners add up to, so one leaf's claim cannot get the whole subtree refused.
     */
    parentMaxExamples?: number;
  };
  transport: {
    mode: TransportMode;
    /** Where learners connect (websocket); webrtc: a PeerJS signalling server to use instead of serving one. */
    url?: string;
    host?: string;
    port?: number;
    /** Shared token a learner must present to join. */
    token?: string;
    /** Largest frame accepted, bytes. */
    maxPayload: number;
    interceptors: InterceptorName[];
    /** webrtc: STUN/TURN servers every peer gets (default none: no public servers). */
    iceServers: IceServer[];
  };
  timeouts: { connect: number; request: number };
  heartbeat: HeartbeatOptions | false;
  federation: {
    rounds: number;
    /** Learners a round waits for. */
    minClients: number;
    /** Results a round needs (and at least how many it selects); at most minClients. Default minClients. */
    minResults: number;
    /** Fraction of connected learners selected per round, in (0, 1]. */
    fraction: number;
    /** Asks this many times the selected learners and closes the round at the selected count (>= 1). */
    overSelection: number;
    /** ms a round may take (0: none). */
    deadline: number;
    seed: number;
    federatedEvaluation: boolean;
    /**
     * The algorithm: a built-in by name, or a module of the user's (a path, relative to the
     * config file) whose default export makes a Strategy from the options (a class or a function).
     */
    strategy:
      | { name: StrategyName; options: Record<string, unknown> }
      | { module: string; options: Record<string, unknown> };
    /** Synchronous rounds, or FedBuff (buffered asynchronous aggregation). */
    schedule:
      { name: 'sync' } | { name: 'fedbuff'; concurrency: number; buffer: number; maxStaleness: number };
    /** Hyper-parameters the learners receive (epochs, batchSize, lr...). */
    train: Record<string, unknown>;
    /** Where checkpoints go (Node: a file path). */
    checkpoint?: string;
    /**
     * A round that fails (too few results): 'retry' runs it again (waiting for learners as needed),
     * so a server keeps going until completion or Ctrl-C; 'stop' ends the run with the error.
     * Default 'retry', where a Federation built in code defaults to 'stop': a run from a config is
     * a server's, a Federation in a program is a call that should end.
     */
    onRoundFailure: 'retry' | 'stop';
    /**
     * Secure aggregation (SecAgg+): the trainer learns only the sum of each round's updates. Off
     * when absent. Needs synchronous rounds and a strategy whose aggregate is the weighted mean.
     */
    secureAggregation?: SecureAggregationOptions;
    /**
     * Client-level differential privacy (DP-FedAvg) around the strategy: updates clipped to `clip`,
     * Gaussian noise of std noiseMultiplier x clip on their sum, epsilon at `delta` reported every round,
     * the run stopped at `budget`. Off when absent; its defaults are DEFAULT_PRIVACY's.
     */
    privacy?: PrivacyConfig;
    /**
     * Compressed updates: the model sent down in fp16 or int8, updates sent up as deltas in fp16,
     * int8 or top-k with error feedback; learners that support none get float32. Off when absent.
     * Not with secureAggregation.
     */
    codecs?: CodecOptions;
  };
  /** What a server grants peers it does not trust (learners are whoever opened the page). */
  security: SecurityConfig;
  /** The live dashboard `oiafed serve` serves (see DashboardConfig). */
  dashboard: DashboardConfig;
}

/**
 * The live dashboard: a page on the trainer's WebSocket port (websocket mode) or on `port` (other
 * modes), whose observers read the run and, with the admin token, pause, resume or stop it.
 */
export interface DashboardConfig {
  /** Off by default. On a host other than loopback it needs `adminToken`. */
  enabled: boolean;
  /** The token pause, resume and stop need; without it, the page can only watch. */
  adminToken?: string;
  /** Where the dashboard listens when the trainer serves no WebSocket of its own (default 8788). */
  port?: number;
  /** Observers connected at once. */
  maxObservers: number;
}

/** Budgets in bytes, counts and ms (see ServerLimits), and what the trainer grants learners beyond them. */
export interface SecurityConfig extends ServerLimits {
  /**
   * Per-learner credentials, id to secret: a learner must present its own as its token, and may then take
   * over its id.
   */
  credentials?: Record<string, string>;
  /** Which learners may reach other learners through the trainer: none (a star), or those of their own role. */
  relay: 'none' | 'same-role';
  /** Largest `numExamples` a learner's result may claim. */
  maxExamples: number;
  /** A learner whose results fail this many rounds in a row is left out of selection ... */
  excludeAfter: number;
  /** ... for this many rounds. */
  excludeRounds: number;
  /**
   * Learners that left which the trainer still remembers (to recognise one that comes back); older departures
   * are forgotten.
   */
  recentDeparted: number;
}

/** `federation.privacy` with its defaults filled: DifferentialPrivacyOptions as a config file holds them. */
export interface PrivacyConfig extends Required<
  Pick<DifferentialPrivacyOptions, 'noiseMultiplier' | 'delta' | 'mode' | 'sampleRate'>
> {
  clip: number | Required<AdaptiveClipping>;
  budget?: number;
  expectedClients?: number;
}

/** Every field optional, nested: what a user writes. */
export type RunConfigInput = {
  [K in keyof RunConfig]?: RunConfig[K] extends object ? Partial<RunConfig[K]> : RunConfig[K];
};

export const DEFAULT_RUN_CONFIG: RunConfig = {
  node: { id: 'trainer', role: 'trainer' },
  transport: { mode: 'memory', maxPayload: DEFAULT_MAX_PAYLOAD, interceptors: [], iceServers: [] },
  timeouts: { connect: DEFAULT_CONNECT_TIMEOUT, request: DEFAULT_REQUEST_TIMEOUT },
  heartbeat: DEFAULT_HEARTBEAT,
  federation: {
    rounds: 10,
    minClients: 1,
    minResults: 1,
    fraction: 1,
    overSelection: 1,
    deadline: 0,
    seed: 0,
    federatedEvaluation: false,
    strategy: { name: 'fedavg', options: {} },
    schedule: { name: 'sync' },
    train: {},
    onRoundFailure: 'retry',
  },
  security: {
    relay: 'none',
    ...DEFAULT_LIMITS,
    maxExamples: DEFAULT_MAX_EXAMPLES,
    excludeAfter: DEFAULT_EXCLUDE.after,
    excludeRounds: DEFAULT_EXCLUDE.rounds,
    recentDeparted: DEFAULT_RECENT_DEPARTED,
  },
  dashboard: { enabled: false, maxObservers: DEFAULT_MAX_OBSERVERS },
};
