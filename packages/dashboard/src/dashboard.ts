import { ControlBar } from './control-bar.js';
import type { DashboardFeed, DashboardUpdate, FeedConnection } from './feed.js';
import { duration, privacyFigure } from './format.js';
import { LearnerTable } from './learner-table.js';
import { RoundChart } from './round-chart.js';
import { DASHBOARD_CSS } from './styles.js';

export interface DashboardOptions {
  /** The heading (default "oiafed dashboard"). */
  title?: string;
  /** The admin token, when the page was given one (e.g. in its URL fragment); it can also be typed in. */
  token?: string;
}

export interface MountedDashboard {
  /** Stops showing the feed (the feed itself stays open: close it too if it is done). */
  close(): void;
}

/**
 * Shows a run live in `root`: its state, round k of n, a chart of test accuracy and loss per round
 * (and train loss), a table of its learners, and pause / resume / stop where the feed has
 * controls. The same view for a remote trainer (`observerFeed`) and for a federation in this page
 * (`localFeed`).
 */
export function mountDashboard(
  root: HTMLElement,
  feed: DashboardFeed,
  options: DashboardOptions = {},
): MountedDashboard {
  addStyles(root.ownerDocument);
  const view = document.createElement('div');
  view.className = 'oiafed-dashboard';
  const header = document.createElement('header');
  const title = Object.assign(document.createElement('h1'), {
    textContent: options.title ?? 'oiafed dashboard',
  });
  const state = field('oiafed-state', 'state', 'connecting');
  const round = field('oiafed-round', 'round', '');
  // Differential privacy's epsilon so far, beside the round (empty for a run without it).
  const privacy = field('oiafed-privacy', 'privacy', '');
  const elapsed = field('oiafed-muted', 'elapsed', '');
  const connection = field('oiafed-connection oiafed-muted', 'connection', '');
  header.append(title, state, round, privacy, elapsed, connection);
  const summary = field('oiafed-muted', 'summary', '');
  summary.style.display = 'block';
  const chart = new RoundChart();
  const table = new LearnerTable();
  const controls = new ControlBar(feed.controls, options.token);
  view.append(header, summary, controls.element, chart.element, table.element);
  root.append(view);

  const show = ({ telemetry: t, full }: DashboardUpdate) => {
    state.textContent = t.state;
    state.dataset.state = t.state;
    round.textContent = t.round === 0 ? `${t.rounds} rounds` : `round ${t.round} of ${t.rounds}`;
    round.dataset.round = String(t.round);
    elapsed.textContent = t.startedAt === undefined ? '' : duration(t.elapsedMs);
    const spent = t.points.at(-1)?.privacy;
    if (spent) privacy.textContent = privacyFigure(spent);
    const { connected, departed, busy } = t.learners;
    summary.textContent = `${t.strategy} · ${connected} learner${connected === 1 ? '' : 's'} connected${departed ? `, ${departed} left` : ''}${busy ? ` · ${busy} at work` : ''}`;
    chart.update(t.points, full);
    table.update(t.clients, t.learners);
    controls.update(t.state, t.controls);
  };
  const resize = () => chart.resize(view.clientWidth || 640);
  resize();
  const window = root.ownerDocument.defaultView;
  window?.addEventListener('resize', resize);
  const stopUpdates = feed.onUpdate(show);
  const stopConnection = feed.onConnection?.((status: FeedConnection, detail: string) => {
    connection.textContent = status === 'connected' ? 'live' : `${status}${detail ? `: ${detail}` : ''}`;
    connection.dataset.connection = status;
  });
  let closed = false;
  feed.snapshot().then(
    (telemetry) => !closed && show({ telemetry, full: true }),
    (error: unknown) => {
      connection.textContent = `cannot read the telemetry: ${error instanceof Error ? error.message : String(error)}`;
      connection.dataset.connection = 'failed';
    },
  );
  return {
    close() {
      closed = true;
      stopUpdates();
      stopConnection?.();
      window?.removeEventListener('resize', resize);
      chart.destroy();
      view.remove();
    },
  };
}

function field(className: string, role: string, text: string): HTMLElement {
  const element = Object.assign(document.createElement('span'), { className, textContent: text });
  element.dataset.role = role;
  return element;
}

const STYLE_ID = 'oiafed-dashboard-styles';

function addStyles(document: Document): void {
  if (document.getElementById(STYLE_ID)) return;
  const style = Object.assign(document.createElement('style'), { id: STYLE_ID, textContent: DASHBOARD_CSS });
  document.head.append(style);
}
