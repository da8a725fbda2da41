import { describe, expect, it } from 'vitest';
import { emptyStats, sampleWrites } from '../../../src/dynamo/writerStats.ts';

describe('Function: sampleWrites', () => {
  it('gives the items accepted per second and the share of calls throttled since the last sample', () => {
    // Prepare: 2 s after a sample at 300 items, 10 calls, 1 throttled
    const stats = { ...emptyStats(), itemsWritten: 1_300, calls: 30, throttled: 6 };
    const sampled = { at: 1_000, items: 300, calls: 10, throttled: 1 };

    // Act
    const { sample, next } = sampleWrites(stats, sampled, 612.4, 3_000);

    // Assess
    expect(sample).toEqual({ writeRate: 500, throttledShare: 0.25, rateLimit: 612 });
    expect(next).toEqual({ at: 3_000, items: 1_300, calls: 30, throttled: 6 });
  });

  it('reports no share without calls, and no rate limit while the table has not pushed back', () => {
    // Prepare
    const sampled = { at: 5_000, items: 0, calls: 0, throttled: 0 };

    // Act
    const { sample } = sampleWrites(emptyStats(), sampled, Number.POSITIVE_INFINITY, 5_000);

    // Assess
    expect(sample).toEqual({ writeRate: 0, throttledShare: 0, rateLimit: null });
  });
});
