import { OiafedError } from './errors.js';

const WIRE_CLASSES: readonly (abstract new (...args: never[]) => unknown)[] = [
  ArrayBuffer,
  DataView,
  Date,
  Map,
  Set,
  Error,
  RegExp,
];

/**
 * Throws NOT_SERIALIZABLE, naming the path, for a value a real wire would not carry faithfully:
 * functions, symbols, class instances (their methods would vanish), promises. msgpackr drops
 * functions silently, so strict links run this first.
 */
export function assertWireSafe(value: unknown, path = 'frame', seen = new Set<object>()): void {
  switch (typeof value) {
    case 'function':
    case 'symbol':
      throw new OiafedError('NOT_SERIALIZABLE', `${path} is a ${typeof value}, which cannot cross a wire`);
    case 'object':
      break;
    default:
      return;
  }
  if (value === null || ArrayBuffer.isView(value)) return;
  if (seen.has(value)) throw new OiafedError('NOT_SERIALIZABLE', `${path} is a circular reference`);
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertWireSafe(item, `${path}[${i}]`, seen));
  } else if (value instanceof Map) {
    for (const [k, v] of value) {
      assertWireSafe(k, `${path} key`, seen);
      assertWireSafe(v, `${path}.get(${String(k)})`, seen);
    }
  } else if (value instanceof Set) {
    for (const v of value) assertWireSafe(v, `${path} member`, seen);
  } else if (!WIRE_CLASSES.some((cls) => value instanceof cls)) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'unknown';
      throw new OiafedError('NOT_SERIALIZABLE', `${path} is an instance of ${name}; send plain data`);
    }
    for (const [k, v] of Object.entries(value)) assertWireSafe(v, `${path}.${k}`, seen);
  }
  seen.delete(value);
}
