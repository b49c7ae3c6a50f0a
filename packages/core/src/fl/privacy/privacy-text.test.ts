import { describe, expect, it } from 'vitest';
import { privacyText } from './privacy-text.js';

describe('privacyText', () => {
  it('says epsilon, its budget and the round\u2019s noise, clip and sampling in one short line', () => {
    const round = {
      epsilon: 3.188991562633588,
      delta: 1e-5,
      noiseMultiplier: 2,
      clip: 1,
      sampleRate: 1,
      exhausted: false,
    };
    expect(privacyText(round)).toBe('epsilon 3.19 (delta 1e-5, z 2, clip 1)');
    expect(privacyText({ ...round, budget: 5, sampleRate: 0.04, clip: 0.123456 })).toBe(
      'epsilon 3.19 of 5 (delta 1e-5, z 2, clip 0.123, q 0.04)',
    );
  });
});
