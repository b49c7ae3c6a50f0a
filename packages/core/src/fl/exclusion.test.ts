import { describe, expect, it } from 'vitest';
import { Exclusions } from './exclusion.js';

const outcomes = (entries: Record<string, boolean>) => new Map(Object.entries(entries));

describe('Exclusions', () => {
  it('leaves a learner out for `rounds` attempts after `after` failures in a row, then gives it one more chance', () => {
    const exclusions = new Exclusions({ after: 2, rounds: 3 });
    expect(exclusions.record(1, outcomes({ s: false, h: true }))).toEqual([]);
    expect(exclusions.record(2, outcomes({ s: false, h: true }))).toEqual([
      { client: 's', failures: 2, rounds: 3, until: 6 },
    ]);
    expect([3, 4, 5, 6].map((attempt) => exclusions.isExcluded('s', attempt))).toEqual([
      true,
      true,
      true,
      false,
    ]);
    expect(exclusions.roundsLeft('s', 3)).toBe(3);
    expect(exclusions.isExcluded('h', 3)).toBe(false);
    // Its other chance is one round: failing it excludes again at once, for twice as long.
    expect(exclusions.record(6, outcomes({ s: false }))).toEqual([
      { client: 's', failures: 3, rounds: 6, until: 13 },
    ]);
    expect(exclusions.record(13, outcomes({ s: false }))).toEqual([
      { client: 's', failures: 4, rounds: 12, until: 26 },
    ]);
  });

  it('forgets a learner\u2019s failures once it contributes', () => {
    const exclusions = new Exclusions({ after: 2, rounds: 3 });
    exclusions.record(1, outcomes({ s: false }));
    exclusions.record(2, outcomes({ s: true }));
    expect(exclusions.failures('s')).toBe(0);
    expect(exclusions.record(3, outcomes({ s: false }))).toEqual([]);
  });

  it('takes a learner back early on readmit, and forgets gone learners whose exclusion is over', () => {
    const exclusions = new Exclusions({ after: 1, rounds: 5 });
    exclusions.record(1, outcomes({ a: false, b: false }));
    exclusions.readmit('a');
    expect(exclusions.isExcluded('a', 2)).toBe(false);
    exclusions.forget(() => false, 2);
    expect(exclusions.failures('a')).toBe(0);
    expect(exclusions.failures('b')).toBe(1); // still left out: kept, so reconnecting does not clear it
  });

  it('never leaves anyone out with rounds 0, and refuses invalid options naming the field', () => {
    expect(new Exclusions({ after: 1, rounds: 0 }).record(1, outcomes({ s: false }))).toEqual([]);
    expect(() => new Exclusions({ after: 0, rounds: 1 })).toThrow(
      /federation\.exclude\.after must be a positive integer \(got 0\)/,
    );
    expect(() => new Exclusions({ after: 1, rounds: -1 })).toThrow(
      /federation\.exclude\.rounds must be an integer >= 0/,
    );
  });
});
