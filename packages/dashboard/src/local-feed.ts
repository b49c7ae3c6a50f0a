import type { Federation } from '@oiafed/core';
import type { DashboardFeed, DashboardUpdate } from './feed.js';

export interface LocalFeedOptions {
  /** Learner rows per update (default 20). */
  rows?: number;
  /** ms between updates while the run goes on, for the counters that move on their own (default 1,000). */
  refresh?: number;
}

/**
 * A dashboard's feed from a Federation in this page (a whole federation simulated in a tab): its
 * telemetry on each TELEMETRY and every `refresh` ms while it runs, and its controls, which need no
 * token (the page runs the federation).
 */
export function localFeed(federation: Federation, options: LocalFeedOptions = {}): DashboardFeed {
  const rows = options.rows ?? 20;
  const listeners = new Set<(update: DashboardUpdate) => void>();
  let delivered = 0;
  const update = () => {
    const telemetry = federation.telemetry({ rows, since: delivered });
    delivered = telemetry.points.at(-1)?.round ?? delivered;
    for (const listener of listeners) listener({ telemetry, full: false });
  };
  federation.events.on('TELEMETRY', update);
  const timer = setInterval(() => {
    const { state } = federation;
    if (listeners.size > 0 && (state === 'running' || state === 'paused')) update();
  }, options.refresh ?? 1_000);
  return {
    snapshot: () => {
      const telemetry = federation.telemetry({ rows });
      delivered = telemetry.points.at(-1)?.round ?? 0;
      return Promise.resolve(telemetry);
    },
    onUpdate(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    controls: {
      needsToken: false,
      send: (action) => {
        if (action === 'pause') federation.pause();
        else if (action === 'resume') federation.resume();
        else federation.stop('stopped from the dashboard');
        return Promise.resolve(federation.state);
      },
    },
    close() {
      clearInterval(timer);
      federation.events.off('TELEMETRY', update);
      listeners.clear();
    },
  };
}
