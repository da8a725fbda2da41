import type { BatchWriterStats, WriteSample } from './batchTypes.ts';

/** A writer's counters before its first call. */
export function emptyStats(): BatchWriterStats {
  return { itemsWritten: 0, batches: 0, calls: 0, throttled: 0, rejected: 0, retries: 0 };
}

/** The counters a sample is taken against, as of the previous sample. */
export interface Sampled {
  at: number;
  items: number;
  calls: number;
  throttled: number;
}

/**
 * The writes since `sampled` (items accepted per second, share of calls throttled, the pace the
 * writer holds itself to) and the counters for the next sample.
 */
export function sampleWrites(
  stats: BatchWriterStats,
  sampled: Sampled,
  rate: number,
  now = performance.now(),
): { sample: WriteSample; next: Sampled } {
  const { at, items, calls, throttled } = sampled;
  const made = stats.calls - calls;
  return {
    sample: {
      writeRate: Math.round(((stats.itemsWritten - items) * 1000) / Math.max(1, now - at)),
      throttledShare: made > 0 ? Math.round((100 * (stats.throttled - throttled)) / made) / 100 : 0,
      rateLimit: Number.isFinite(rate) ? Math.round(rate) : null,
    },
    next: { at: now, items: stats.itemsWritten, calls: stats.calls, throttled: stats.throttled },
  };
}
