import type { NodeId } from '../wire/envelope.js';
import type { OiafedError } from '../wire/errors.js';
import type { Clock } from '../wire/clock.js';
import type { LinkTraffic } from '../links/link.js';
import type { HeartbeatOptions } from '../membership/heartbeat.js';
import type { Authenticate, ClientInfo, Credentials, RegistryOptions } from '../membership/registry.js';
import type { RelayPolicy } from '../membership/relay-policy.js';
import type { Interceptor } from './interceptors.js';

export interface NodeOptions {
  /** Unique among the nodes of a federation; generated when omitted. */
  id?: NodeId;
  /** What the node is, e.g. 'trainer' or 'learner'. */
  role?: string;
  /** Default per-call timeout, ms (0: none). Default 120 s (DEFAULT_REQUEST_TIMEOUT). */
  timeout?: number;
  /** How long a joining link may take to say hello / be welcomed, ms. Default 10 s. */
  connectTimeout?: number;
  /** Ping/pong liveness on every link; `false` turns it off. Default 30 s / 90 s. */
  heartbeat?: Partial<HeartbeatOptions> | false;
  interceptors?: readonly Interceptor[];
  /** Who may join this node: a shared token, or a check of the whole hello. Default: anyone. */
  authenticate?: Authenticate;
  /**
   * Per-client credentials: id to secret (or a lookup). A hello must then carry its own id's secret
   * as its token, and a client that does may take over its id from a link still registered under it.
   */
  credentials?: Credentials;
  /** Send handler stacks with remote errors (development only). */
  exposeStack?: boolean;
  /**
   * Which frames this node forwards between the nodes linked to it. Default 'none': a star in
   * which each learner reaches only this node (learners are untrusted).
   */
  relay?: RelayPolicy;
  /** What the registry remembers of clients that left: `recentDeparted`, default 1,000 (DEFAULT_RECENT_DEPARTED). */
  registry?: Partial<RegistryOptions>;
  /**
   * Where the node reads the time and arms its timers (heartbeat, handshakes, call deadlines). Default the
   * system's.
   */
  clock?: Clock;
}

/** Frames a node refused or ignored, by kind: what a hostile peer tried. */
export interface NodeStats {
  /** Results, errors and acks that answered no request of ours to their sender (or of a relayed one). */
  strayAnswers: number;
  /** Frames for other nodes that the relay policy did not let through. */
  refusedRelays: number;
}

/** Local notifications a node gives about its links and peers. */
export interface NodeEvents {
  /** A client joined; `client.previous` says whether it is one the registry still knew (a return). */
  CLIENT_REGISTERED: [client: ClientInfo];
  /** The client said goodbye. */
  CLIENT_UNREGISTERED: [client: ClientInfo];
  /** The client's link dropped or its heartbeat timed out (`client.state` tells which). */
  CLIENT_DISCONNECTED: [client: ClientInfo];
  /** Any established link closed, either side; `traffic`: what it carried, where the link counts it. */
  PEER_DISCONNECTED: [peer: NodeId, reason: string, traffic: LinkTraffic | undefined];
  /** A one-way event this node sent found no handler, or its handler threw. */
  EVENT_FAILED: [error: OiafedError, event: { target: NodeId; name: string }];
  /** A link sent something unreadable or out of protocol, and was closed. */
  LINK_ERROR: [error: OiafedError, peer: NodeId | undefined];
}
