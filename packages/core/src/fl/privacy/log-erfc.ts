/**
 * log(erfc(x)) for every finite x, with relative accuracy near double precision where erfc itself
 * underflows (x > 26.5) or is close to 2 (x very negative). The RDP of the subsampled Gaussian at
 * fractional orders sums terms like erfc((i - z0) / (sqrt(2) sigma)) in log space, whose argument
 * reaches the hundreds for small noise, so `Math.log(erfc(x))` would give -Infinity there.
 *
 * Near 0 it is the Maclaurin series of erf (no cancellation below |x| < 1); from 1 up it is
 * log(erfc(x)) = -x^2 - log(sqrt(pi)) + log(F(x)), with F(x) = sqrt(pi) e^{x^2} erfc(x) from its
 * continued fraction (Abramowitz & Stegun 7.1.14), 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))),
 * evaluated by the modified Lentz method; below -1, erfc(x) = 2 - erfc(-x).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === Infinity) return -Infinity;
  if (x === -Infinity) return Math.LN2;
  if (Math.abs(x) < 1) return Math.log1p(-erfSeries(x));
  if (x > 0) return -x * x - LOG_SQRT_PI + Math.log(scaledErfc(x));
  // erfc(x) = 2 - erfc(-x), and erfc(-x) < 0.16 here: no cancellation.
  const tail = Math.exp(-x * x - LOG_SQRT_PI) * scaledErfc(-x);
  return Math.LN2 + Math.log1p(-tail / 2);
}

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);

/** erf(x) for |x| < 1: 2/sqrt(pi) * sum (-1)^n x^(2n+1) / (n! (2n+1)); the terms fall fast. */
function erfSeries(x: number): number {
  const x2 = x * x;
  let power = x; // (-1)^n x^(2n+1) / n!
  let sum = x;
  for (let n = 1; n < 60; n++) {
    power *= -x2 / n;
    const term = power / (2 * n + 1);
    sum += term;
    if (Math.abs(term) < 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * sum;
}

/** sqrt(pi) e^{x^2} erfc(x) for x >= 1, by its continued fraction (modified Lentz). */
function scaledErfc(x: number): number {
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let n = 1; n < 5000; n++) {
    const a = n / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const step = c * d;
    f *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return 1 / f;
}
