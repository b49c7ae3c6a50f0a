import type { EventEmitter } from 'eventemitter3';
import { joinInMemory } from './memory-link.js';
import { Node, type NodeOptions } from './node.js';

/** The next emission of `event`, or a rejection after `ms`: tests wait on events, bounded. */
export function nextEvent<E extends EventEmitter.ValidEventTypes, K extends EventEmitter.EventNames<E>>(
  emitter: EventEmitter<E>,
  event: K,
  ms = 3_000,
): Promise<EventEmitter.ArgumentMap<Exclude<E, string | symbol>>[Extract<K, keyof E>]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no ${String(event)} within ${ms} ms`));
    }, ms);
    const listener = (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as never);
    };
    emitter.once(event, listener as never);
  });
}

export interface Star {
  hub: Node;
  leaves: Node[];
  close(): void;
}

/** A trainer-like hub with learner-like leaves joined over strict in-memory links. */
export async function star(count: number, options: { hub?: NodeOptions; leaf?: NodeOptions; strict?: boolean } = {}): Promise<Star> {
  const hub = new Node({ id: 'hub', role: 'trainer', heartbeat: false, ...options.hub });
  const leaves = Array.from({ length: count }, (_, i) => new Node({ id: `leaf-${i}`, role: 'learner', heartbeat: false, ...options.leaf }));
  await Promise.all(leaves.map((leaf) => joinInMemory(hub, leaf, { strict: options.strict ?? true })));
  return {
    hub,
    leaves,
    close() {
      for (const leaf of leaves) leaf.close();
      hub.close();
    },
  };
}
