import { describe, expect, it } from 'vitest';
import { boundedText, MAX_REPORTED_TEXT } from './bounded-text.js';

describe('boundedText', () => {
  it('keeps a short plain string as it is', () => {
    expect(boundedText('learner-3 timed out')).toBe('learner-3 timed out');
  });

  it('escapes control characters so a line stays one line and no terminal sequence gets through', () => {
    expect(boundedText('a\nb\r\tc\u001b[2Jd\u2028')).toBe('a\\nb\\r\\tc\\u001b[2Jd\\u2028');
  });

  it('cuts long text to the limit, marking the cut', () => {
    const out = boundedText('x'.repeat(4 * 1024 * 1024));
    expect(out).toHaveLength(MAX_REPORTED_TEXT);
    expect(out.endsWith('…')).toBe(true);
    expect(boundedText('y'.repeat(MAX_REPORTED_TEXT))).toBe('y'.repeat(MAX_REPORTED_TEXT));
  });

  it("describes a non-string without calling the value's own toString", () => {
    const hostile = {
      toString: 5,
      valueOf: () => {
        throw new Error('called');
      },
    };
    expect(boundedText(hostile)).toBe('[object]');
    expect(boundedText(Object.create(null))).toBe('[object]');
    expect(boundedText([1, 2])).toBe('[array of 2]');
    expect(boundedText(undefined)).toBe('undefined');
    expect(boundedText(3.5)).toBe('3.5');
    expect(boundedText(Symbol('s'))).toBe('[symbol]');
  });
});
