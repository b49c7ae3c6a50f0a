import { describe, expect, it } from 'vitest';
import { lastResult, privacyFigure } from './format.js';

describe('privacyFigure', () => {
  it('shows epsilon so far, its budget and delta, as the dashboard puts it beside the round', () => {
    expect(privacyFigure({ epsilon: 3.188991562633588, delta: 1e-5 })).toBe('\u03b5 3.19 at \u03b4 1e-5');
    expect(privacyFigure({ epsilon: 4.0113, delta: 1e-6, budget: 5 })).toBe(
      '\u03b5 4.01 of 5 at \u03b4 1e-6',
    );
  });
});

describe('lastResult', () => {
  it('shows a learner’s last round, its examples and metrics, and marks an update that came masked', () => {
    expect(lastResult({ round: 3, numExamples: 600, metrics: { loss: 0.31239 } })).toBe(
      'round 3 \u00b7 600 examples \u00b7 loss 0.3124',
    );
    expect(lastResult({ round: 3, numExamples: 600, metrics: {}, masked: true })).toBe(
      'round 3 \u00b7 masked \u00b7 600 examples',
    );
    expect(lastResult(undefined)).toBe('\u2013');
  });
});
