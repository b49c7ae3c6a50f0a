import type { ControlAction, FederationState, FederationTelemetry } from '@oiafed/core';

/** What a dashboard shows: the telemetry, and whether the trainer takes controls at all. */
export interface DashboardTelemetry extends FederationTelemetry {
  /** False when the trainer has no admin token (its controls refuse everyone); absent: not said. */
  controls?: boolean;
}

/** One change: the telemetry, its points those of rounds not delivered before (or every one, when `full`). */
export interface DashboardUpdate {
  telemetry: DashboardTelemetry;
  /** Every point is there: what was shown before is replaced (a new connection, a restarted trainer). */
  full: boolean;
}

/** Where the feed stands with what it watches. */
export type FeedConnection = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'closed';

/** Pause, resume and stop, for a feed that may control the run. */
export interface DashboardControls {
  /** The trainer asks for its admin token (a remote run); a run in this page does not. */
  readonly needsToken: boolean;
  /** Resolves with the run's state after the action; rejects (UNAUTHORIZED...) when refused. */
  send(action: ControlAction, token?: string): Promise<FederationState>;
}

/**
 * Where a dashboard's numbers come from: a trainer reached as an observer (`observerFeed`), or a
 * Federation in the same page (`localFeed`). A snapshot, then updates, and controls where the
 * feed has them.
 */
export interface DashboardFeed {
  /** The telemetry now, with every round's point. */
  snapshot(): Promise<DashboardTelemetry>;
  /** Calls `listener` with each change; returns the function that stops it. */
  onUpdate(listener: (update: DashboardUpdate) => void): () => void;
  /** The feed's connection, for a feed that has one (a run in this page is always there). */
  onConnection?(listener: (state: FeedConnection, detail: string) => void): () => void;
  /** Absent: the dashboard shows its controls disabled. */
  readonly controls?: DashboardControls;
  /** Stops the updates and lets go of the connection. */
  close(): void;
}
