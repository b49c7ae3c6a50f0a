import { describe, expect, it } from 'vitest';
import type { Envelope } from './envelope.js';
import { fromTuple, toTuple } from './frame-tuples.js';

/** Frames as they go between a link's own two ends: no src, no dst. */
const direct = (frame: Record<string, unknown>) => frame as unknown as Envelope;

describe('frame tuples', () => {
  const frames = [
    direct({ kind: 'call', id: 1, method: 'train', args: [{ round: 1 }] }),
    direct({ kind: 'call', id: 2, method: 'train', args: [], meta: { token: 't' } }),
    direct({ kind: 'result', id: 3, value: undefined }),
    direct({ kind: 'result', id: 4, value: [1, 2], meta: { zipped: true } }),
    direct({ kind: 'error', id: 5, error: { name: 'OiafedError', code: 'TIMEOUT', message: 'late' } }),
    direct({
      kind: 'error',
      id: 0,
      error: { name: 'OiafedError', code: 'NO_HANDLER', message: 'none' },
      event: 'progress',
    }),
    direct({ kind: 'event', id: 0, name: 'progress', payload: 0.5 }),
    direct({ kind: 'event', id: 6, name: 'progress', payload: null, meta: { a: 1 } }),
    direct({ kind: 'cancel', id: 7 }),
    direct({ kind: 'cancel', id: 8, reason: 'timed out' }),
    direct({ kind: 'ack', id: 9 }),
  ];

  for (const frame of frames) {
    it(`carries a ${frame.kind} frame${Object.keys(frame).length > 3 ? ' with its optional field' : ''} and gives it back field for field`, () => {
      const tuple = toTuple(frame)!;
      expect(Array.isArray(tuple)).toBe(true);
      expect(fromTuple(tuple)).toEqual(frame);
    });
  }

  it('leaves routed frames and every other kind to travel as maps', () => {
    expect(toTuple({ kind: 'call', id: 1, src: 'a', dst: 'b', method: 'm', args: [] })).toBeUndefined();
    expect(toTuple({ kind: 'ping', t: 1 })).toBeUndefined();
    expect(toTuple({ kind: 'bye', src: 'a' })).toBeUndefined();
  });

  it('names what is wrong with a tuple that is no frame', () => {
    expect(fromTuple([0, 'one', 'm', []])).toMatch(/without a numeric id/);
    expect(fromTuple([0, 1, 42, []])).toMatch(/malformed call/);
    expect(fromTuple([0, 1, 'm', [], 'not meta'])).toMatch(/malformed call/);
    expect(fromTuple([0, 1, 'm', [], {}, 'extra'])).toMatch(/malformed call/);
    expect(fromTuple([1, 1])).toMatch(/malformed result/);
    expect(fromTuple([2, 1, { code: 'X' }])).toMatch(/malformed error/);
    expect(fromTuple([3, 1, 'e'])).toMatch(/malformed event/);
    expect(fromTuple([4, 1, 5])).toMatch(/malformed cancel/);
    expect(fromTuple([5, 1, 'extra'])).toMatch(/malformed ack/);
    expect(fromTuple(['call', 1])).toMatch(/unknown frame code "call"/);
    expect(fromTuple([])).toMatch(/without a numeric id/);
  });
});
