/**
 * oiafed's live dashboard: `mountDashboard(element, feed)` shows a run (state, round k of n, a
 * chart per round, the learners, pause / resume / stop) from a feed: `observerFeed` for a trainer
 * reached over WebSocket as an observer, `localFeed` for a Federation in the same page. The page
 * `oiafed serve` and the demo serve is built from it (dist/web).
 */
export { mountDashboard } from './dashboard.js';
export type { DashboardOptions, MountedDashboard } from './dashboard.js';
export { observerFeed } from './observer-feed.js';
export type { ObserverFeedOptions } from './observer-feed.js';
export { localFeed } from './local-feed.js';
export type { LocalFeedOptions } from './local-feed.js';
export type {
  DashboardFeed,
  DashboardTelemetry,
  DashboardUpdate,
  DashboardControls,
  FeedConnection,
} from './feed.js';
