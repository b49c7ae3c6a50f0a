import { logErfc } from './log-erfc.js';

/*
 * Renyi differential privacy of the sampled Gaussian mechanism (Mironov, Talwar & Zhang 2019,
 * "Renyi Differential Privacy of the Sampled Gaussian Mechanism", section 3.3), and its conversion
 * to (epsilon, delta)-DP (Balle et al. 2020, "Hypothesis testing interpretations and Renyi
 * differential privacy", theorem 21). A port of Opacus's `opacus/accountants/analysis/rdp.py`
 * (itself from TensorFlow Privacy), so the same inputs give the same epsilon; the tests hold
 * values Opacus computes.
 */

/** log(e^x + e^y), exact where either is -Infinity (zero). */
export function logAdd(x: number, y: number): number {
  const a = Math.min(x, y);
  const b = Math.max(x, y);
  if (a === -Infinity) return b;
  return Math.log1p(Math.exp(a - b)) + b;
}

/** log(e^x - e^y) for x >= y; -Infinity when they are equal. */
export function logSub(x: number, y: number): number {
  if (x < y) throw new RangeError('logSub: the result of a subtraction must be non-negative');
  if (y === -Infinity) return x;
  if (x === y) return -Infinity;
  const d = Math.expm1(x - y);
  // Opacus falls back to x when exp overflows (x - y > 709): e^x - e^y is e^x to double precision.
  return Number.isFinite(d) ? Math.log(d) + y : x;
}

/** log(A_alpha) for an integer order: a binomial sum over i = 0..alpha. */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(alpha, i), built up term by term
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  for (let i = 0; i <= alpha; i++) {
    if (i > 0) logBinom += Math.log(alpha - i + 1) - Math.log(i);
    const s = logBinom + i * logQ + (alpha - i) * log1mQ + (i * i - i) / (2 * sigma * sigma);
    logA = logAdd(logA, s);
  }
  return logA;
}

/**
 * log(A_alpha) for a fractional order: the two halves of the integral split at z0, as series whose
 * binomial coefficients C(alpha, i) change sign past i > alpha; summed until both terms fall below
 * e^-30, as Opacus does.
 */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let logA0 = -Infinity;
  let logA1 = -Infinity;
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const sqrt2Sigma = Math.SQRT2 * sigma;
  let logCoef = 0; // log |C(alpha, i)|
  let positive = true; // sign of C(alpha, i)
  for (let i = 0; ; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logCoef += Math.log(Math.abs(factor));
      if (factor < 0) positive = !positive;
    }
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mQ;
    const logT1 = logCoef + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    if (positive) {
      logA0 = logAdd(logA0, logS0);
      logA1 = logAdd(logA1, logS1);
    } else {
      logA0 = logSub(logA0, logS0);
      logA1 = logSub(logA1, logS1);
    }
    if (Math.max(logS0, logS1) < -30) break;
  }
  return logAdd(logA0, logA1);
}

/** RDP at order `alpha` of one step of the Gaussian mechanism with noise `sigma`, sampled at rate `q`. */
export function rdpOfStep(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP at each order of `steps` compositions of the sampled Gaussian mechanism. */
export function computeRdp(
  q: number,
  noiseMultiplier: number,
  steps: number,
  orders: readonly number[],
): number[] {
  return orders.map((alpha) => rdpOfStep(q, noiseMultiplier, alpha) * steps);
}

/**
 * The smallest epsilon at `delta` over the orders, with the order that gives it (Balle et al. 2020,
 * theorem 21): eps = rdp - (log delta + log alpha) / (alpha - 1) + log((alpha - 1) / alpha).
 */
export function epsilonFromRdp(
  orders: readonly number[],
  rdp: readonly number[],
  delta: number,
): { epsilon: number; order: number } {
  if (orders.length !== rdp.length) throw new RangeError('epsilonFromRdp: orders and rdp differ in length');
  let best = { epsilon: Infinity, order: Number.NaN };
  orders.forEach((alpha, k) => {
    const eps = rdp[k]! - (Math.log(delta) + Math.log(alpha)) / (alpha - 1) + Math.log((alpha - 1) / alpha);
    // NaN (an infinite RDP less an infinite term) is skipped, as numpy's nanargmin does.
    if (eps < best.epsilon) best = { epsilon: eps, order: alpha };
  });
  return best;
}
