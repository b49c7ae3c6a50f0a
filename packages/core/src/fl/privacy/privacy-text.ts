import type { RoundPrivacy } from './round-privacy.js';

/**
 * A round's privacy as a console line shows it, e.g. `epsilon 3.19 of 5 (delta 1e-5, z 2, clip 1)`:
 * the same words in `oiafed serve`, the demo and the dashboard.
 */
export function privacyText(p: RoundPrivacy): string {
  const budget = p.budget === undefined ? '' : ` of ${p.budget}`;
  const sampled = p.sampleRate < 1 ? `, q ${Number(p.sampleRate.toPrecision(3))}` : '';
  return `epsilon ${p.epsilon.toFixed(2)}${budget} (delta ${p.delta.toExponential()}, z ${Number(p.noiseMultiplier.toPrecision(3))}, clip ${Number(p.clip.toPrecision(3))}${sampled})`;
}
