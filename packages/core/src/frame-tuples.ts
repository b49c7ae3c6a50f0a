import type { Envelope, Meta } from './envelope.js';
import type { WireError } from './errors.js';

/**
 * The frames of every call, as they travel between a link's own two ends (no `src`/`dst`): a
 * MessagePack array `[code, id, ...fields, optional]` instead of a map. Smaller than a map even
 * with shared record layouts, and about a third cheaper to pack and unpack, which is most of what
 * a small call costs over a socket. Every other frame (relayed ones included) is a map.
 */
const CALL = 0;
const RESULT = 1;
const ERROR = 2;
const EVENT = 3;
const CANCEL = 4;
const ACK = 5;

/** The tuple for `frame`, or undefined when it travels as a map. */
export function toTuple(frame: Envelope): unknown[] | undefined {
  if ((frame as { src?: unknown }).src !== undefined) return undefined;
  switch (frame.kind) {
    case 'call':
      return frame.meta === undefined ? [CALL, frame.id, frame.method, frame.args] : [CALL, frame.id, frame.method, frame.args, frame.meta];
    case 'result':
      return frame.meta === undefined ? [RESULT, frame.id, frame.value] : [RESULT, frame.id, frame.value, frame.meta];
    case 'error':
      return frame.event === undefined ? [ERROR, frame.id, frame.error] : [ERROR, frame.id, frame.error, frame.event];
    case 'event':
      return frame.meta === undefined ? [EVENT, frame.id, frame.name, frame.payload] : [EVENT, frame.id, frame.name, frame.payload, frame.meta];
    case 'cancel':
      return frame.reason === undefined ? [CANCEL, frame.id] : [CANCEL, frame.id, frame.reason];
    case 'ack':
      return [ACK, frame.id];
    default:
      return undefined;
  }
}

/** The frame a decoded tuple stands for, or a string saying why it is none. */
export function fromTuple(t: unknown[]): Envelope | string {
  const id = t[1];
  if (typeof id !== 'number' || !Number.isFinite(id)) return 'frame tuple without a numeric id';
  const n = t.length;
  switch (t[0]) {
    case CALL: {
      const method = t[2];
      const args = t[3];
      if (typeof method !== 'string' || !Array.isArray(args) || n > 5 || (n === 5 && !isMeta(t[4]))) return 'malformed call frame';
      return n === 5 ? ({ kind: 'call', id, method, args, meta: t[4] as Meta } as Envelope) : ({ kind: 'call', id, method, args } as Envelope);
    }
    case RESULT:
      if (n < 3 || n > 4 || (n === 4 && !isMeta(t[3]))) return 'malformed result frame';
      return n === 4 ? ({ kind: 'result', id, value: t[2], meta: t[3] as Meta } as Envelope) : ({ kind: 'result', id, value: t[2] } as Envelope);
    case ERROR: {
      const error = t[2] as WireError;
      if (typeof error !== 'object' || error === null || typeof error.message !== 'string' || n > 4 || (n === 4 && typeof t[3] !== 'string')) return 'malformed error frame';
      return n === 4 ? ({ kind: 'error', id, error, event: t[3] as string } as Envelope) : ({ kind: 'error', id, error } as Envelope);
    }
    case EVENT: {
      const name = t[2];
      if (typeof name !== 'string' || n < 4 || n > 5 || (n === 5 && !isMeta(t[4]))) return 'malformed event frame';
      return n === 5 ? ({ kind: 'event', id, name, payload: t[3], meta: t[4] as Meta } as Envelope) : ({ kind: 'event', id, name, payload: t[3] } as Envelope);
    }
    case CANCEL:
      if (n > 3 || (n === 3 && typeof t[2] !== 'string')) return 'malformed cancel frame';
      return n === 3 ? ({ kind: 'cancel', id, reason: t[2] as string } as Envelope) : ({ kind: 'cancel', id } as Envelope);
    case ACK:
      if (n !== 2) return 'malformed ack frame';
      return { kind: 'ack', id } as Envelope;
    default:
      return `unknown frame code ${JSON.stringify(t[0])}`;
  }
}

const isMeta = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
