import type { Envelope } from './envelope.js';
import {
  ackFields,
  callFields,
  cancelFields,
  errorFields,
  eventFields,
  malformed,
  quoted,
  resultFields,
} from './frame-checks.js';

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
      return frame.meta === undefined
        ? [CALL, frame.id, frame.method, frame.args]
        : [CALL, frame.id, frame.method, frame.args, frame.meta];
    case 'result':
      return frame.meta === undefined
        ? [RESULT, frame.id, frame.value]
        : [RESULT, frame.id, frame.value, frame.meta];
    case 'error':
      return frame.event === undefined
        ? [ERROR, frame.id, frame.error]
        : [ERROR, frame.id, frame.error, frame.event];
    case 'event':
      return frame.meta === undefined
        ? [EVENT, frame.id, frame.name, frame.payload]
        : [EVENT, frame.id, frame.name, frame.payload, frame.meta];
    case 'cancel':
      return frame.reason === undefined ? [CANCEL, frame.id] : [CANCEL, frame.id, frame.reason];
    case 'ack':
      return [ACK, frame.id];
    default:
      return undefined;
  }
}

/**
 * The frame a decoded tuple stands for, or a string saying why it is none: the tuple's length is
 * checked here, and its fields by the same checks as those of a frame sent as a map (frame-checks.ts).
 */
export function fromTuple(t: unknown[]): Envelope | string {
  const id = t[1];
  if (typeof id !== 'number') return 'frame tuple without a numeric id';
  const n = t.length;
  let problem: string | undefined;
  switch (t[0]) {
    case CALL:
      problem = n < 4 || n > 5 ? 'not 4 or 5 fields' : callFields(id, t[2], t[3], t[4]);
      if (problem !== undefined) return malformed('call', problem);
      return (
        n === 5
          ? { kind: 'call', id, method: t[2], args: t[3], meta: t[4] }
          : { kind: 'call', id, method: t[2], args: t[3] }
      ) as Envelope;
    case RESULT:
      problem = n < 3 || n > 4 ? 'not 3 or 4 fields' : resultFields(id, t[3]);
      if (problem !== undefined) return malformed('result', problem);
      return (
        n === 4 ? { kind: 'result', id, value: t[2], meta: t[3] } : { kind: 'result', id, value: t[2] }
      ) as Envelope;
    case ERROR:
      problem = n < 3 || n > 4 ? 'not 3 or 4 fields' : errorFields(id, t[2], t[3]);
      if (problem !== undefined) return malformed('error', problem);
      return (
        n === 4 ? { kind: 'error', id, error: t[2], event: t[3] } : { kind: 'error', id, error: t[2] }
      ) as Envelope;
    case EVENT:
      problem = n < 4 || n > 5 ? 'not 4 or 5 fields' : eventFields(id, t[2], t[4]);
      if (problem !== undefined) return malformed('event', problem);
      return (
        n === 5
          ? { kind: 'event', id, name: t[2], payload: t[3], meta: t[4] }
          : { kind: 'event', id, name: t[2], payload: t[3] }
      ) as Envelope;
    case CANCEL:
      problem = n > 3 ? 'more than 3 fields' : cancelFields(id, t[2]);
      if (problem !== undefined) return malformed('cancel', problem);
      return (n === 3 ? { kind: 'cancel', id, reason: t[2] } : { kind: 'cancel', id }) as Envelope;
    case ACK:
      problem = n !== 2 ? 'not 2 fields' : ackFields(id);
      if (problem !== undefined) return malformed('ack', problem);
      return { kind: 'ack', id } as Envelope;
    default:
      return `unknown frame code ${quoted(t[0])}`;
  }
}
