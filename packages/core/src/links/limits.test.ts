import { describe, expect, it } from 'vitest';
import { DEFAULT_RUN_CONFIG } from '../config.js';
import { ByteBudget } from './byte-budget.js';
import { DEFAULT_LIMITS, linkLimits, serverLimits } from './limits.js';

describe('serverLimits', () => {
  it("fills what it is not given with the defaults (the run config's security section has them too), and hands links their share", () => {
    const limits = serverLimits({ helloBytes: 1024 });
    const d = DEFAULT_LIMITS;
    expect(limits).toEqual({
      maxConnections: d.maxConnections,
      upgradeTimeout: d.upgradeTimeout,
      helloBytes: 1024,
      linkPartialBytes: d.linkPartialBytes,
      linkPartialChunks: d.linkPartialChunks,
      totalPartialBytes: d.totalPartialBytes,
      outboundBytes: d.outboundBytes,
      maxDecodedBytes: 16 * 1024 * 1024,
    });
    const budget = new ByteBudget(limits.totalPartialBytes);
    expect(DEFAULT_RUN_CONFIG.security).toMatchObject(DEFAULT_LIMITS);
    expect(linkLimits(limits, budget)).toEqual({
      helloBytes: 1024,
      linkPartialBytes: d.linkPartialBytes,
      linkPartialChunks: d.linkPartialChunks,
      outboundBytes: d.outboundBytes,
      maxDecodedBytes: d.maxDecodedBytes,
      partialBudget: budget,
    });
  });
});
