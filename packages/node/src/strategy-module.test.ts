import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FedAdam } from '@oiafed/core';
import { loadStrategyModule } from './strategy-module.js';

const here = dirname(fileURLToPath(import.meta.url));

describe("a user's strategy module", () => {
  it('makes a strategy from a default-exported class, with the options, relative to the config file', async () => {
    const strategy = await loadStrategyModule('./fixtures/median-strategy.fixture.ts', here, {
      label: 'ours',
    });
    expect(strategy.name).toBe('ours');
  });

  it('makes a strategy from a default-exported function', async () => {
    const strategy = await loadStrategyModule('fixtures/factory-strategy.fixture.ts', here, { eta: 0.2 });
    expect(strategy).toBeInstanceOf(FedAdam);
    expect(strategy.name).toBe('fedadam');
  });

  it('refuses a module that does not make a strategy, or is not there, with INVALID_CONFIG naming it', async () => {
    await expect(loadStrategyModule('fixtures/not-a-strategy.fixture.ts', here, {})).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(
        /federation\.strategy\.module fixtures\/not-a-strategy\.fixture\.ts did not make a Strategy/,
      ),
    });
    await expect(loadStrategyModule('fixtures/missing.ts', here, {})).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/federation\.strategy\.module fixtures\/missing\.ts: /),
    });
  });
});
