import { describe, expect, it } from 'vitest';
import { privacyFigure } from './format.js';

describe('privacyFigure', () => {
  it('shows epsilon so far, its budget and delta, as the dashboard puts it beside the round', () => {
    expect(privacyFigure({ epsilon: 3.188991562633588, delta: 1e-5 })).toBe('\u03b5 3.19 at \u03b4 1e-5');
    expect(privacyFigure({ epsilon: 4.0113, delta: 1e-6, budget: 5 })).toBe(
      '\u03b5 4.01 of 5 at \u03b4 1e-6',
    );
  });
});
