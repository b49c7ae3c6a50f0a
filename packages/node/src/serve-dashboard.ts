import {
  OBSERVER_ROLE,
  serveObservers,
  type Federation,
  type Node,
  type ObserverOptions,
} from '@oiafed/core';
import { DASHBOARD_PATH, dashboardPage, type DashboardPage } from './dashboard-page.js';
import {
  serveWebSocket,
  type WebSocketServerOptions,
  type WebSocketTrainerServer,
} from './web-socket-server.js';

export interface DashboardServeOptions extends ObserverOptions {
  /**
   * The trainer's own WebSocket server, made with `http: page.handler`: the page and its
   * observers use it. Without it, a server of the dashboard's own is started on `port`, which
   * only observers may join.
   */
  server?: { url: string; close(): Promise<void> };
  /** The page to serve (default: `dashboardPage()`). */
  page?: DashboardPage;
  /** The dashboard's own server: where to listen (default 8788; 0 picks a free port). */
  port?: number;
  host?: string;
  /** Budgets of the dashboard's own server (see WebSocketServerOptions.limits). */
  limits?: WebSocketServerOptions['limits'];
}

export interface DashboardServer {
  /** http://host:port/dashboard/: open it in a browser (add #token=<admin token> for the controls). */
  readonly url: string;
  /** Stops serving observers, and the dashboard's own server if it has one. */
  close(): Promise<void>;
}

/**
 * Serves `run`'s live dashboard: the page (from @oiafed/dashboard) and, over WebSocket, the
 * observers it joins the trainer as (read-only; controls with `adminToken`). On the trainer's own
 * server when given one (its learners' port), else on a server of its own.
 */
export async function serveDashboard(
  run: { node: Node; federation: Federation },
  options: DashboardServeOptions = {},
): Promise<DashboardServer> {
  const page = options.page ?? (await dashboardPage());
  const withdraw = serveObservers(run, options);
  let own: WebSocketTrainerServer | undefined;
  let server: { url: string };
  try {
    server =
      options.server ??
      (own = await serveWebSocket(run.node, {
        port: options.port ?? 8788,
        host: options.host ?? '127.0.0.1',
        roles: [OBSERVER_ROLE],
        http: page.handler,
        ...(options.limits ? { limits: options.limits } : {}),
      }));
  } catch (error) {
    withdraw();
    throw error;
  }
  return {
    url: `${server.url.replace(/^ws/, 'http').replace(/\/+$/, '')}${DASHBOARD_PATH}`,
    close: async () => {
      withdraw();
      await own?.close();
    },
  };
}
