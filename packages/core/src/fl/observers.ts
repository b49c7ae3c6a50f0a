import { OiafedError } from '../wire/errors.js';
import { refTimer } from '../wire/clock.js';
import { sameText } from '../membership/resume-secrets.js';
import { currentCall } from '../rpc/call-context.js';
import type { Node } from '../rpc/node.js';
import type { FederationState, FederationTelemetry, TelemetryQuery } from './federation-events.js';
import type { Federation } from './federation.js';

/** The role a dashboard joins a trainer with. */
export const OBSERVER_ROLE = 'observer';
/** Observers call it with a TelemetryQuery; it answers an ObservedTelemetry. */
export const TELEMETRY_METHOD = 'oiafed.telemetry';
/** Observers call it with a ControlRequest; it answers `{ state }`. */
export const CONTROL_METHOD = 'oiafed.control';
/** The trainer's notice to its observers that the telemetry changed (payload: TelemetryNotice). */
export const TELEMETRY_EVENT = 'oiafed.telemetry';
export const DEFAULT_MAX_OBSERVERS = 8;

export type ControlAction = 'pause' | 'resume' | 'stop';

export interface ControlRequest {
  action: ControlAction;
  /** The trainer's admin token. */
  token: string;
}

/** The telemetry as observers get it: with whether the trainer takes controls at all. */
export interface ObservedTelemetry extends FederationTelemetry {
  /** The trainer has an admin token: pause, resume and stop work for whoever presents it. */
  controls: boolean;
}

/** What TELEMETRY_EVENT carries: enough to show the state at once; the rest is pulled. */
export interface TelemetryNotice {
  state: FederationState;
  round: number;
}

export interface ObserverOptions {
  /** The token pause, resume and stop need (compared in constant time). Without it they are all refused. */
  adminToken?: string;
  /** Observers connected at once (default DEFAULT_MAX_OBSERVERS); one more is refused OVERLOADED. */
  maxObservers?: number;
  /** ms between notices while observers are connected, for the counters that move on their own (default 1,000). */
  refresh?: number;
}

const ACTIONS: ReadonlySet<string> = new Set<ControlAction>(['pause', 'resume', 'stop']);

/**
 * Lets dashboards watch a run: peers that join the trainer's node with role `observer` may read
 * its telemetry, and, with the admin token, pause, resume or stop it, and nothing else (the node
 * confines them: no learner is reachable, no other method, no event). They are never selected nor
 * counted as learners (they are not of the learner role). Each gets TELEMETRY_EVENT when the
 * telemetry changes, and every `refresh` ms while the run goes on. Returns the function that
 * withdraws all of it.
 */
export function serveObservers(
  run: { node: Node; federation: Federation },
  options: ObserverOptions = {},
): () => void {
  const { node, federation } = run;
  const maxObservers = options.maxObservers ?? DEFAULT_MAX_OBSERVERS;
  if (!Number.isSafeInteger(maxObservers) || maxObservers < 1)
    throw new OiafedError('INVALID_CONFIG', `maxObservers must be a positive integer (got ${maxObservers})`);
  const { adminToken } = options;
  if (adminToken === '') throw new OiafedError('INVALID_CONFIG', 'adminToken must not be empty');
  const unconfine = node.confine(OBSERVER_ROLE, { maxPeers: maxObservers });
  const withdraw = node.serve(
    {
      [TELEMETRY_METHOD]: (query: unknown): ObservedTelemetry => ({
        ...federation.telemetry(queryOf(query)),
        controls: adminToken !== undefined,
      }),
      [CONTROL_METHOD]: (request: unknown): { state: FederationState } => {
        const { action, token } = controlOf(request);
        if (adminToken === undefined)
          throw new OiafedError('UNAUTHORIZED', 'this trainer takes no controls: it has no admin token');
        if (token === undefined || !sameText(token, adminToken))
          throw new OiafedError('UNAUTHORIZED', `${action} refused: a missing or wrong admin token`);
        if (action === 'pause') federation.pause();
        else if (action === 'resume') federation.resume();
        else federation.stop(`stopped by observer ${currentCall().caller}`);
        return { state: federation.state };
      },
    },
    { methods: [TELEMETRY_METHOD, CONTROL_METHOD], roles: [OBSERVER_ROLE] },
  );
  const notify = () => {
    const observers = node.registry.connected(OBSERVER_ROLE);
    if (observers.length === 0) return;
    const notice: TelemetryNotice = { state: federation.state, round: federation.round };
    for (const id of observers) {
      try {
        node.emit(id, TELEMETRY_EVENT, notice);
      } catch {
        // Its link closed meanwhile (or it reads too slowly and was closed): nothing to tell it.
      }
    }
  };
  federation.events.on('TELEMETRY', notify);
  const refresh = options.refresh ?? 1_000;
  const timer = setInterval(() => {
    if (federation.state === 'running' || federation.state === 'paused' || federation.state === 'stopping')
      notify();
  }, refresh);
  refTimer(timer, false);
  return () => {
    clearInterval(timer);
    federation.events.off('TELEMETRY', notify);
    withdraw();
    unconfine();
  };
}

/** An observer's query, as far as it makes sense; anything else is left at its default. */
function queryOf(query: unknown): TelemetryQuery {
  if (typeof query !== 'object' || query === null) return {};
  const { since, rows } = query as Record<string, unknown>;
  return {
    ...(typeof since === 'number' && Number.isSafeInteger(since) && since >= 0 ? { since } : {}),
    ...(typeof rows === 'number' && Number.isSafeInteger(rows) && rows >= 0 ? { rows } : {}),
  };
}

function controlOf(request: unknown): { action: ControlAction; token: string | undefined } {
  const { action, token } =
    typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
  if (typeof action !== 'string' || !ACTIONS.has(action))
    throw new OiafedError('INVALID_CONFIG', 'action must be pause, resume or stop');
  return { action: action as ControlAction, token: typeof token === 'string' ? token : undefined };
}
