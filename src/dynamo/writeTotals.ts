import type { WriteSummary, WriteTotals } from '../types.ts';
import type { BatchWriter } from './BatchWriter.ts';

/** The totals after one more part: what the writer saw, added to the parts before. */
export function addWrites(before: WriteTotals | undefined, writer: BatchWriter): WriteTotals {
  const rate = writer.rate.rate();
  return {
    calls: (before?.calls ?? 0) + writer.stats.calls,
    throttled: (before?.throttled ?? 0) + writer.stats.throttled,
    rejected: (before?.rejected ?? 0) + writer.stats.rejected,
    // Infinity (never limited) is not a number DynamoDB stores, and tells the next part nothing.
    ...(Number.isFinite(rate) ? { rate: Math.round(rate) } : {}),
  };
}

/** The summary's view of the writes; null when nothing was sent. */
export function summariseWrites(
  totals: WriteTotals | undefined,
  rowsWritten: number,
  durationMs: number,
): WriteSummary | null {
  if (!totals || totals.calls === 0) return null;
  return {
    calls: totals.calls,
    throttled: totals.throttled,
    rejected: totals.rejected,
    rowsPerSecond: Math.round((rowsWritten * 10_000) / Math.max(1, durationMs)) / 10,
  };
}
