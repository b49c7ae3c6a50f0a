import { describe, expect, it } from 'vitest';
import { logErfc } from './log-erfc.js';
import { computeRdp, epsilonFromRdp, rdpOfStep } from './rdp.js';
import { DEFAULT_ORDERS, RdpAccountant } from './rdp-accountant.js';

/*
 * Reference values from Opacus (github.com/pytorch/opacus, commit 4d0ebc8):
 * - 7.32911117143: opacus/tests/accountants_test.py, test_rdp_accountant (z 1.5, q 0.04,
 *   int(90 / 0.04) = 2,250 steps, delta 1e-5, default orders).
 * - (0.336, order 23): the docstring example of opacus/accountants/analysis/rdp.py.
 * - The rest: opacus/accountants/analysis/rdp.py itself (compute_rdp, get_privacy_spent,
 *   _compute_rdp, _log_erfc) run with numpy 2.4.6 and scipy 1.17.1, printed with repr().
 */
const OPACUS_EPSILON: {
  z: number;
  q: number;
  steps: number;
  delta: number;
  epsilon: number;
  order: number;
}[] = [
  { z: 1.5, q: 0.04, steps: 2250, delta: 1e-5, epsilon: 7.3291111714386545, order: 3.9 },
  { z: 1.0, q: 0.01, steps: 1000, delta: 1e-5, epsilon: 2.1013652716430564, order: 7.8 },
  { z: 0.5, q: 1.0, steps: 10, delta: 1e-5, epsilon: 48.80169282486775, order: 1.7 },
  { z: 1.0, q: 1.0, steps: 10, delta: 1e-5, epsilon: 19.05359753163139, order: 2.5 },
  { z: 1.1, q: 0.1, steps: 100, delta: 1e-6, epsilon: 7.465083384862445, order: 3.8 },
  { z: 4.0, q: 0.001, steps: 50000, delta: 1e-5, epsilon: 0.2048560385035649, order: 63 },
  { z: 0.8, q: 0.5, steps: 20, delta: 1e-3, epsilon: 18.14944989474123, order: 1.8 },
  { z: 1.0, q: 0.05, steps: 1, delta: 1e-5, epsilon: 1.6067394873267522, order: 7 },
  { z: 0.3, q: 0.02, steps: 500, delta: 1e-5, epsilon: 92.84176274222241, order: 1.2 },
];

/** Opacus's `_compute_rdp(q, sigma, alpha)`: integer and fractional orders. */
const OPACUS_RDP: { z: number; q: number; alpha: number; rdp: number }[] = [
  { z: 1.5, q: 0.04, alpha: 2.5, rdp: 0.0011328034664240456 },
  { z: 1.5, q: 0.04, alpha: 12, rdp: 0.0077655603810839885 },
  { z: 1.0, q: 0.01, alpha: 1.1, rdp: 9.241470982855839e-5 },
  { z: 0.7, q: 0.3, alpha: 7.7, rdp: 6.473475710385453 },
  { z: 2.0, q: 0.2, alpha: 32, rdp: 2.3404354195333688 },
  { z: 1.0, q: 0.01, alpha: 63, rdp: 26.820552875528232 },
];

/** Opacus's `_log_erfc` (log 2 + scipy.special.log_ndtr(-x sqrt 2)). */
const SCIPY_LOG_ERFC: [number, number][] = [
  [-5, 0.6931471805591766],
  [-3, 0.6931361352504468],
  [-1, 0.6112323176780705],
  [-0.99, 0.6089544109556326],
  [-0.3, 0.28414589714140825],
  [0, 0],
  [0.1, -0.11930497373739557],
  [0.5, -0.7350111298370848],
  [0.99, -1.8233001038549022],
  [1, -1.849605509933249],
  [1.0001, -1.8498694151157857],
  [1.5, -3.3844920895515536],
  [2, -5.36494126461664],
  [3, -10.720363041981116],
  [5, -27.200889545537446],
  [7, -51.52823109371016],
  [10, -102.87988902484493],
  [26, -679.8311997631946],
  [27, -732.8688865078977],
  [30, -903.9741171106442],
  [50, -2504.484587848452],
  [100, -10005.177585122668],
  [1000, -1000007.4801207221],
];

const relative = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('logErfc', () => {
  it('matches scipy to about 1e-14, also where erfc underflows and where it nears 2', () => {
    for (const [x, expected] of SCIPY_LOG_ERFC)
      expect(relative(logErfc(x), expected), `x = ${x}`).toBeLessThan(1e-14);
  });

  it('is exact at the infinities and NaN for NaN', () => {
    expect(logErfc(Infinity)).toBe(-Infinity);
    expect(logErfc(-Infinity)).toBe(Math.LN2);
    expect(logErfc(Number.NaN)).toBeNaN();
  });
});

describe('RDP of the sampled Gaussian mechanism', () => {
  it('uses the orders of Opacus RDPAccountant.DEFAULT_ALPHAS', () => {
    expect(DEFAULT_ORDERS).toHaveLength(151);
    expect(DEFAULT_ORDERS.slice(0, 3)).toEqual([1.1, 1.2, 1.3]);
    expect(DEFAULT_ORDERS.slice(97, 101)).toEqual([10.8, 10.9, 12, 13]);
    expect(DEFAULT_ORDERS[150]).toBe(63);
  });

  it('gives Opacus\u2019s RDP at integer and fractional orders', () => {
    for (const { z, q, alpha, rdp } of OPACUS_RDP)
      expect(relative(rdpOfStep(q, z, alpha), rdp), `z ${z} q ${q} alpha ${alpha}`).toBeLessThan(1e-10);
  });

  it('has the closed forms at the edges: no sampling, no noise, full participation', () => {
    expect(rdpOfStep(0, 1, 2)).toBe(0);
    expect(rdpOfStep(0.1, 0, 2)).toBe(Infinity);
    expect(rdpOfStep(1, 2, 3)).toBe(3 / 8);
  });

  it('reproduces the example of Opacus\u2019s rdp.py docstring: epsilon 0.336 at order 23', () => {
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const a = computeRdp(1e-5, 1.0, 10, orders);
    const b = computeRdp(1e-4, 3.0, 4, orders);
    const spent = epsilonFromRdp(
      orders,
      a.map((v, i) => v + b[i]!),
      1e-5,
    );
    expect(spent.epsilon).toBeCloseTo(0.33634406339259565, 12);
    expect(spent.order).toBe(23);
  });
});

describe('RdpAccountant', () => {
  it('gives the epsilon of Opacus\u2019s accountant test: z 1.5, q 0.04, 2,250 steps, delta 1e-5 -> 7.32911117143', () => {
    const accountant = new RdpAccountant();
    for (let i = 0; i < 2250; i++) accountant.step(1.5, 0.04);
    expect(accountant.history).toEqual([{ noiseMultiplier: 1.5, sampleRate: 0.04, steps: 2250 }]);
    expect(accountant.epsilon(1e-5)).toBeCloseTo(7.32911117143, 10);
  });

  it('matches Opacus over noise, sampling rates, steps and deltas, with the same best order', () => {
    for (const { z, q, steps, delta, epsilon, order } of OPACUS_EPSILON) {
      const accountant = new RdpAccountant();
      accountant.step(z, q, steps);
      const spent = accountant.spent(delta);
      expect(relative(spent.epsilon, epsilon), `z ${z} q ${q} steps ${steps}`).toBeLessThan(1e-10);
      expect(spent.order).toBe(order);
    }
  });

  it('composes steps of different noise and sampling by adding their RDP', () => {
    const accountant = new RdpAccountant();
    accountant.step(1.0, 0.01, 500);
    accountant.step(1.5, 0.04, 100);
    accountant.step(1.0, 0.01, 500);
    expect(accountant.history).toHaveLength(3);
    const a = computeRdp(0.01, 1.0, 1000, DEFAULT_ORDERS);
    const b = computeRdp(0.04, 1.5, 100, DEFAULT_ORDERS);
    const expected = epsilonFromRdp(
      DEFAULT_ORDERS,
      a.map((v, i) => v + b[i]!),
      1e-5,
    );
    expect(accountant.epsilon(1e-5)).toBeCloseTo(expected.epsilon, 12);
  });

  it('spends nothing before its first step, and grows with every step', () => {
    const accountant = new RdpAccountant();
    expect(accountant.epsilon(1e-5)).toBe(0);
    let last = 0;
    for (let round = 1; round <= 5; round++) {
      accountant.step(1.0, 0.1);
      const now = accountant.epsilon(1e-5);
      expect(now).toBeGreaterThan(last);
      last = now;
    }
  });

  it('restores its history from a checkpoint, and refuses one that is not a history', () => {
    const accountant = new RdpAccountant();
    accountant.step(1.5, 0.04, 2250);
    const copy = new RdpAccountant();
    copy.restore(accountant.state());
    expect(copy.epsilon(1e-5)).toBe(accountant.epsilon(1e-5));
    for (const bad of [
      {},
      [{ noiseMultiplier: 1 }],
      [{ noiseMultiplier: -1, sampleRate: 0.1, steps: 1 }],
      [null],
    ])
      expect(() => copy.restore(bad as never)).toThrow(/checkpoint|noise multiplier/);
  });

  it('refuses a step or a delta out of range', () => {
    const accountant = new RdpAccountant();
    expect(() => accountant.step(-1, 0.1)).toThrow(/noise multiplier/);
    expect(() => accountant.step(1, 1.5)).toThrow(/sample rate/);
    expect(() => accountant.step(1, 0.1, 0)).toThrow(/steps/);
    expect(() => accountant.spent(0)).toThrow(/delta/);
    expect(() => accountant.spent(1)).toThrow(/delta/);
  });
});
