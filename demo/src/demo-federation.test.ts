import { describe, expect, it } from 'vitest';
import { demoConfig, demoMinClients } from './demo-federation.js';
import { DEFAULT_DEMO, runDemo } from './simulate.js';

const trainer = { id: 'trainer' };

describe("the demo's run config", () => {
  it('waits for and needs what --fraction of --clients selects when --min-clients is not given', () => {
    const config = demoConfig({ ...DEFAULT_DEMO, clients: 100, fraction: 0.1 }, trainer);
    expect(config.federation.minClients).toBe(10);
    expect(config.federation.minResults).toBe(10);
    expect(config.federation.fraction).toBe(0.1);
    // Every learner, by default (fraction 1); never fewer than one.
    expect(demoMinClients(DEFAULT_DEMO)).toBe(10);
    expect(demoMinClients({ ...DEFAULT_DEMO, clients: 3, fraction: 0.1 })).toBe(1);
  });

  it('takes --min-clients as given', () => {
    const config = demoConfig({ ...DEFAULT_DEMO, clients: 100, fraction: 0.1, minClients: 25 }, trainer);
    expect(config.federation.minClients).toBe(25);
    expect(config.federation.minResults).toBe(25);
  });

  it('--clients 20 --fraction 0.1 trains 2 learners a round, not all 20', async () => {
    const result = await runDemo({
      ...DEFAULT_DEMO,
      clients: 20,
      fraction: 0.1,
      rounds: 2,
      trainSize: 1_000,
      testSize: 200,
    });
    expect(result.reason).toBe('completed');
    expect(result.history.map((r) => [r.clients.length, r.results])).toEqual([
      [2, 2],
      [2, 2],
    ]);
    // Seeded selection: each round draws its own pair.
    expect(result.history[0]!.clients).not.toEqual(result.history[1]!.clients);
  }, 60_000);
});
