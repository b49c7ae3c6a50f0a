import {
  CONTROL_METHOD,
  Node,
  OBSERVER_ROLE,
  TELEMETRY_EVENT,
  TELEMETRY_METHOD,
  type FederationState,
  type ObservedTelemetry,
  type RetryPolicy,
} from '@oiafed/core';
import { connectWebSocket, Uplink, type WebSocketConstructor } from '@oiafed/core/internal';
import type { DashboardFeed, DashboardUpdate, FeedConnection } from './feed.js';

export interface ObserverFeedOptions {
  /** The trainer's WebSocket server, e.g. `ws://127.0.0.1:8787`: the one its learners join. */
  url: string;
  /** This observer's node id (default: a random `observer-...`). */
  id?: string;
  /** Learner rows per update (default 20). */
  rows?: number;
  /** The WebSocket class: the page's own by default; `ws`'s in Node. */
  WebSocket?: WebSocketConstructor;
  /** Reconnecting: default forever, 250 ms doubling to 10 s. */
  retry?: Partial<RetryPolicy>;
}

/**
 * A dashboard's feed from a trainer over WebSocket: joins it as an observer (read-only, never a
 * learner), pulls the telemetry when the trainer says it changed, and reconnects when the link
 * drops. Its controls call the trainer with the admin token the page was given.
 */
export function observerFeed(options: ObserverFeedOptions): DashboardFeed {
  const rows = options.rows ?? 20;
  const WebSocket = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WebSocket) throw new TypeError('observerFeed needs a WebSocket class here (options.WebSocket)');
  const node = new Node({
    ...(options.id === undefined ? { role: OBSERVER_ROLE } : { id: options.id, role: OBSERVER_ROLE }),
    heartbeat: { interval: 5_000, timeout: 15_000 },
  });
  const uplink = new Uplink({
    node,
    connect: () => connectWebSocket(options.url, { WebSocket }),
    // A page that watches waits for its trainer for as long as it is open (learners give up after joinTimeout).
    joinTimeout: Infinity,
    ...(options.retry ? { retry: options.retry } : {}),
  });
  const updates = new Set<(update: DashboardUpdate) => void>();
  const connections = new Set<(state: FeedConnection, detail: string) => void>();
  let connection: { state: FeedConnection; detail: string } = { state: 'connecting', detail: options.url };
  let delivered = 0;
  /** One pull at a time; a notice during it asks for one more after. */
  let pulling: Promise<void> | undefined;
  let again = false;

  const trainer = () => uplink.peer?.id ?? '';
  const telemetry = (since: number) =>
    node.call(trainer(), TELEMETRY_METHOD, [{ since, rows }]) as Promise<ObservedTelemetry>;
  const deliver = (update: DashboardUpdate) => {
    delivered = update.telemetry.points.at(-1)?.round ?? (update.full ? 0 : delivered);
    for (const listener of updates) listener(update);
  };
  const pull = (full: boolean): void => {
    if (pulling) {
      again = true;
      return;
    }
    pulling = telemetry(full ? 0 : delivered)
      .then(
        (t) => deliver({ telemetry: t, full }),
        () => undefined, // the link dropped: the reconnect pulls again
      )
      .finally(() => {
        pulling = undefined;
        if (again) {
          again = false;
          pull(false);
        }
      });
  };
  const connected = (state: FeedConnection, detail: string) => {
    connection = { state, detail };
    for (const listener of connections) listener(state, detail);
  };

  node.on(TELEMETRY_EVENT, () => pull(false));
  uplink.events.on('status', (status, detail) => {
    if (status === 'registered') {
      connected('connected', options.url);
      pull(true);
    } else if (status === 'disconnected' || status === 'reconnecting') {
      connected('reconnecting', detail.reason ?? detail.error?.message ?? '');
    } else if (status === 'failed') {
      connected('failed', detail.error?.message ?? detail.reason ?? 'failed');
    }
  });
  const registered = uplink.start();
  registered.catch(() => undefined); // reported as 'failed'

  return {
    snapshot: async () => {
      await registered;
      const t = await telemetry(0);
      delivered = t.points.at(-1)?.round ?? 0;
      return t;
    },
    onUpdate(listener) {
      updates.add(listener);
      return () => updates.delete(listener);
    },
    onConnection(listener) {
      connections.add(listener);
      listener(connection.state, connection.detail);
      return () => connections.delete(listener);
    },
    controls: {
      needsToken: true,
      send: async (action, token) => {
        const answer = (await node.call(trainer(), CONTROL_METHOD, [{ action, token: token ?? '' }])) as {
          state: FederationState;
        };
        pull(false);
        return answer.state;
      },
    },
    close() {
      updates.clear();
      connections.clear();
      uplink.close('dashboard closed');
      connected('closed', 'dashboard closed');
      node.close('dashboard closed');
    },
  };
}
