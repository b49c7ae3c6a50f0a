import type { EventEmitter } from 'eventemitter3';
import type { NodeId } from '../wire/envelope.js';
import { refTimer } from '../wire/clock.js';
import type { LinkTraffic } from '../links/link.js';
import type { ClientInfo } from '../membership/registry.js';
import type { Node } from '../rpc/node.js';
import type { ClientActivity, ClientResultInfo } from './cohort.js';
import type { Exclusions } from './exclusion.js';
import type { ClientStatus, FederationEvents, RoundPoint, TelemetryQuery } from './federation-events.js';
import type { RoundPrivacy } from './privacy/round-privacy.js';
import type { RoundSummary } from './round.js';
import type { Metrics } from './weights.js';

/** TELEMETRY fires at most this often, ms. */
export const TELEMETRY_INTERVAL = 250;
/** The most learners' rows one `telemetry()` returns. */
export const MAX_TELEMETRY_ROWS = 500;
const DEFAULT_ROWS = 50;
/** A learner's last result keeps this many of its metrics, of names this short: it is a peer's, kept per learner. */
const KEPT_METRICS = 4;
const KEPT_METRIC_NAME = 32;

/**
 * What the run remembers of one learner beyond the registry: a few numbers and one small result.
 * Learners are untrusted and may be many (10,000 in one process), so it stays a few fields.
 */
class LearnerRecord {
  rounds = 0;
  failed = 0;
  lastRound = 0;
  lastExamples = 0;
  lastMetrics: Metrics | undefined;
  lastMasked = false;
  /** Bytes of its links that have closed (the open one is read live). */
  pastIn = 0;
  pastOut = 0;
  /** Whether any of its links counted bytes. */
  counted = false;
}

/** What the telemetry reads of its federation. */
export interface TelemetryParts {
  readonly node: Node;
  readonly events: EventEmitter<FederationEvents>;
  readonly learnerRole: string;
  readonly activity: ReadonlyMap<NodeId, ClientActivity>;
  readonly exclusions: Exclusions | undefined;
  /** The round attempt exclusions are read against (the next one). */
  nextAttempt(): number;
}

/**
 * The per-learner counters of a run (rounds contributed, last result, failures, bytes over links
 * that closed), the learner rows and round points built from them, and the coalesced TELEMETRY
 * event. It follows the federation's and the node's events, and keeps a record only for learners
 * the registry still holds.
 */
export class Telemetry {
  readonly #parts: TelemetryParts;
  readonly #records = new Map<NodeId, LearnerRecord>();
  #timer: unknown;
  #last = 0;

  constructor(parts: TelemetryParts) {
    this.#parts = parts;
    const { events, node, learnerRole } = parts;
    const changed = () => this.#changed();
    events.on('STATE_CHANGED', changed);
    events.on('ROUND_STARTED', changed);
    events.on('ROUND_FINISHED', changed);
    events.on('ROUND_FAILED', changed);
    events.on('CLIENT_EXCLUDED', changed);
    events.on('CLIENT_RESULT', (info) => this.#trained(info));
    events.on('CLIENT_FAILED', ({ client }) => {
      this.#record(client).failed += 1;
      this.#changed();
    });
    const joinedOrLeft = (client: ClientInfo) => {
      if (client.role === learnerRole) this.#changed();
    };
    node.events.on('CLIENT_REGISTERED', joinedOrLeft);
    node.events.on('CLIENT_DISCONNECTED', joinedOrLeft);
    node.events.on('CLIENT_UNREGISTERED', joinedOrLeft);
    node.events.on('PEER_DISCONNECTED', (peer, _reason, traffic) => this.#linkClosed(peer, traffic));
  }

  /** One learner's row. */
  client(info: Readonly<ClientInfo>): ClientStatus {
    const { node, activity, exclusions } = this.#parts;
    const record = this.#records.get(info.id);
    const live = info.state === 'connected' ? node.traffic(info.id) : undefined;
    const counted = live !== undefined || record?.counted === true;
    return {
      id: info.id,
      state: info.state,
      activity: activity.get(info.id) ?? 'idle',
      failures: exclusions?.failures(info.id) ?? 0,
      excludedFor: exclusions?.roundsLeft(info.id, this.#parts.nextAttempt()) ?? 0,
      failed: record?.failed ?? 0,
      rounds: record?.rounds ?? 0,
      lastResult:
        record?.lastMetrics === undefined
          ? undefined
          : {
              round: record.lastRound,
              numExamples: record.lastExamples,
              metrics: { ...record.lastMetrics },
              ...(record.lastMasked ? { masked: true as const } : {}),
            },
      rtt: info.state === 'connected' ? node.rtt(info.id) : undefined,
      bytesIn: counted ? (record?.pastIn ?? 0) + (live?.bytesIn ?? 0) : undefined,
      bytesOut: counted ? (record?.pastOut ?? 0) + (live?.bytesOut ?? 0) : undefined,
    };
  }

  /** The rows of the first `query.rows` learners (connected first), and how many there are. */
  clients(query: TelemetryQuery = {}): {
    rows: ClientStatus[];
    connected: number;
    departed: number;
  } {
    const rows = Math.min(rowsOf(query.rows), MAX_TELEMETRY_ROWS);
    const all = this.#parts.node.registry.list({ role: this.#parts.learnerRole });
    let connected = 0;
    for (const client of all) if (client.state === 'connected') connected += 1;
    return {
      rows: all.slice(0, rows).map((c) => this.client(c)),
      connected,
      departed: all.length - connected,
    };
  }

  /** Points of the finished rounds after `since`. */
  points(history: readonly RoundSummary[], since = 0): RoundPoint[] {
    const out: RoundPoint[] = [];
    for (const s of history) {
      if (s.round <= since) continue;
      out.push({
        round: s.round,
        clients: s.clients.length,
        results: s.results,
        failures: s.failures.length,
        train: s.trainMetrics,
        eval: s.evalMetrics,
        ms: s.timings.totalMs,
        ...(s.privacy ? { privacy: privacyPoint(s.privacy) } : {}),
      });
    }
    return out;
  }

  #trained(info: ClientResultInfo): void {
    const record = this.#record(info.client);
    record.rounds += 1;
    record.lastRound = info.round;
    record.lastExamples = info.numExamples;
    record.lastMetrics = keptMetrics(info.metrics);
    record.lastMasked = info.masked === true;
    this.#changed();
  }

  /** A learner's link closed: what it carried is kept toward the learner's totals. */
  #linkClosed(peer: NodeId, traffic: LinkTraffic | undefined): void {
    if (!traffic || this.#parts.node.registry.get(peer)?.role !== this.#parts.learnerRole) return;
    const record = this.#record(peer);
    record.pastIn += traffic.bytesIn;
    record.pastOut += traffic.bytesOut;
    record.counted = true;
  }

  #record(id: NodeId): LearnerRecord {
    let record = this.#records.get(id);
    if (record) return record;
    record = new LearnerRecord();
    this.#records.set(id, record);
    // Learners may come with fresh ids forever: forget those the registry has forgotten, in
    // sweeps spaced by the registry's size (amortized O(1) per record).
    const registry = this.#parts.node.registry;
    if (this.#records.size > 2 * registry.size + 64) {
      for (const known of this.#records.keys()) if (!registry.get(known)) this.#records.delete(known);
    }
    return record;
  }

  /** Schedules one TELEMETRY, TELEMETRY_INTERVAL after the last, if anyone listens. */
  #changed(): void {
    const events = this.#parts.events;
    if (this.#timer !== undefined || events.listenerCount('TELEMETRY') === 0) return;
    const wait = Math.max(0, this.#last + TELEMETRY_INTERVAL - Date.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#last = Date.now();
      events.emit('TELEMETRY');
    }, wait);
    // A run that has ended need not stay up to say so.
    refTimer(this.#timer, false);
  }
}

function rowsOf(rows: number | undefined): number {
  return rows !== undefined && Number.isSafeInteger(rows) && rows >= 0 ? rows : DEFAULT_ROWS;
}

/** The first few metrics of short name: a learner may send 64 of up to 128 characters each. */
function keptMetrics(metrics: Metrics): Metrics {
  const kept: Metrics = {};
  let n = 0;
  for (const name in metrics) {
    if (name.length > KEPT_METRIC_NAME) continue;
    kept[name] = metrics[name]!;
    if (++n === KEPT_METRICS) break;
  }
  return kept;
}

/** What a chart point keeps of a round's privacy: the figure a dashboard shows beside the round. */
function privacyPoint({ epsilon, delta, budget }: RoundPrivacy): NonNullable<RoundPoint['privacy']> {
  return { epsilon, delta, ...(budget === undefined ? {} : { budget }) };
}
