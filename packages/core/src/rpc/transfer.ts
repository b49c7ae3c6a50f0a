import type { Transferable } from '../links/link.js';

const marked = new WeakMap<object, readonly Transferable[]>();

/**
 * Marks `value` so that links able to move memory (workers) transfer `list` instead of copying it.
 * After the call the sender must not touch those buffers: they are detached. Links that cannot
 * transfer (WebSocket, WebRTC) copy as usual.
 */
export function transfer<T extends object>(value: T, list: readonly Transferable[]): T {
  marked.set(value, list);
  return value;
}

/**
 * The buffers marked on any of `values`, or undefined when none are. A mark is used once: taking
 * it out keeps the WeakMap small, which the garbage collector pays for on every cycle.
 */
export function transfersOf(values: readonly unknown[]): Transferable[] | undefined {
  let out: Transferable[] | undefined;
  for (const value of values) {
    if (typeof value !== 'object' || value === null) continue;
    const list = marked.get(value);
    if (!list) continue;
    marked.delete(value);
    if (out) out.push(...list);
    else out = [...list];
  }
  return out;
}
