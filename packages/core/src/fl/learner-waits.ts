import type { NodeId } from '../wire/envelope.js';
import { OiafedError } from '../wire/errors.js';
import { onceWithTimeout, settleWithin } from '../wire/signals.js';
import type { ClientInfo } from '../membership/registry.js';
import type { Node } from '../rpc/node.js';

/**
 * Resolves with `candidates()` once it holds at least `n`, checked as learners register; TIMEOUT
 * after `timeout` ms, ABORTED when `signal` aborts. `progress` hears how many there are while it
 * waits: at first, on each change, and at the end; never when there were enough at once.
 */
export function waitForLearners(
  node: Node,
  signal: AbortSignal,
  candidates: () => NodeId[],
  n: number,
  timeout: number,
  progress?: (joined: number, needed: number) => void,
): Promise<NodeId[]> {
  const now = candidates();
  if (now.length >= n) return Promise.resolve(now);
  let told = now.length;
  progress?.(told, n);
  return onceWithTimeout<NodeId[]>(
    timeout,
    () => `only ${candidates().length} of ${n} learners connected`,
    (settle) => {
      const check = () => {
        const found = candidates();
        if (found.length !== told) progress?.((told = found.length), n);
        if (found.length >= n) settle.resolve(found);
      };
      const onAbort = () => {
        settle.reject(new OiafedError('ABORTED', 'federation stopped while waiting for learners'));
      };
      node.events.on('CLIENT_REGISTERED', check);
      signal.addEventListener('abort', onAbort, { once: true });
      return () => {
        node.events.off('CLIENT_REGISTERED', check);
        signal.removeEventListener('abort', onAbort);
      };
    },
  );
}

/**
 * Resolves when a learner that `wanted` accepts registers, or when `signal` aborts; after `ms`,
 * `onTimeout` decides (resolve to go on anyway, or reject).
 */
export function learnerJoins(
  node: Node,
  signal: AbortSignal,
  wanted: (client: ClientInfo) => boolean,
  ms: number,
  onTimeout: (settle: { resolve(): void; reject(error: unknown): void }) => void,
): Promise<void> {
  return settleWithin(
    ms,
    (settle) => {
      const joined = (client: ClientInfo) => {
        if (wanted(client)) settle.resolve();
      };
      const stopped = () => {
        settle.resolve();
      };
      node.events.on('CLIENT_REGISTERED', joined);
      signal.addEventListener('abort', stopped, { once: true });
      return () => {
        node.events.off('CLIENT_REGISTERED', joined);
        signal.removeEventListener('abort', stopped);
      };
    },
    onTimeout,
  );
}
