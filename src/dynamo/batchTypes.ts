import type { RetryBudget } from '../retry.ts';
import type { StudentRecord } from '../types.ts';
import type { AdaptiveRateOptions } from './AdaptiveRate.ts';

export interface BatchWriterOptions {
  tableName: string;
  /** BatchWriteItem calls in flight at most (WRITE_CONCURRENCY): a ceiling, not a target. */
  concurrency: number;
  /** Give up when no item at all was accepted for this long (WRITE_STALL_MS). */
  stallMs?: number;
  /** Backoff for errors that are not throttling (5xx, dropped connections) and the deadline. */
  budget?: Partial<RetryBudget>;
  /**
   * The part can hand over (see settle): running out of time cuts the writes, which stay below
   * the low watermark, instead of failing them; the reader stops at its next look (`isCut`).
   */
  cutWhenOutOfTime?: boolean;
  /** Tuning of the rate controller (tests). */
  rate?: Partial<AdaptiveRateOptions>;
}

export interface BatchWriterStats {
  /** Items DynamoDB accepted. */
  itemsWritten: number;
  /** Batches formed from the buffer (items a call handed back are batched again with later ones). */
  batches: number;
  /** BatchWriteItem calls made, repeats included. */
  calls: number;
  /** Calls that came back with UnprocessedItems or a throttling error. */
  throttled: number;
  /** Calls rejected whole by a throttling error. */
  rejected: number;
  /** Calls repeated for throttling, UnprocessedItems or a transient error. */
  retries: number;
}

/** Where a row starts in the file (a record boundary): what a watermark is made of. */
export interface RowStart {
  offset: number;
  line: number;
}

/** One row's item while it is not acknowledged, and where the earliest row for its key starts. */
export interface Entry {
  /** The item's exact table key. */
  key: string;
  item: StudentRecord;
  offset: number;
  line: number;
  /** The push-back that handed this item back, when it is being sent again. */
  retryCause?: unknown;
}

/** A batch's items not yet acknowledged: shrinks as the table accepts them. */
export interface Unacknowledged {
  entries: Entry[];
  /** Why some of its items are sent again (they came back from an earlier call), or null. */
  cause: unknown;
}

/** The progress line's view of the writes since the previous sample. */
export interface WriteSample {
  /** Items the table accepted per second. */
  writeRate: number;
  /** Share of calls (0–1) answered with UnprocessedItems or a throttling error. */
  throttledShare: number;
  /** The pace the writer holds itself to (items/s); null while the table has not pushed back. */
  rateLimit: number | null;
}
