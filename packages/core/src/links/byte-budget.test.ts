import { describe, expect, it } from 'vitest';
import { ByteBudget } from './byte-budget.js';

describe('ByteBudget', () => {
  it('hands room to waiting holders first come, first served, and never beyond its limit', async () => {
    const budget = new ByteBudget(100);
    const order: string[] = [];
    expect(budget.take(80)).toBe(true);
    budget.wait(50, () => order.push('first'));
    expect(budget.take(10)).toBe(false); // someone waits: no overtaking, though 10 would fit
    const cancel = budget.wait(10, () => order.push('cancelled'));
    budget.wait(20, () => order.push('second'));
    budget.wait(40, () => order.push('third'));
    cancel();
    budget.release(80);
    expect(order).toEqual([]); // granted on the waiters' own turn, not inside release
    await Promise.resolve();
    expect(order).toEqual(['first', 'second']);
    expect(budget.used).toBe(70);
    expect(budget.waiting).toBe(1);
  });
});
