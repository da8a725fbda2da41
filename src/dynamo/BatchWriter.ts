import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InfrastructureError } from '../errors.ts';
import {
  DEFAULT_RETRY_BUDGET,
  fullJitterDelay,
  isThrottling,
  isTransient,
  type RetryBudget,
  sleep,
} from '../retry.ts';
import type { StudentRecord } from '../types.ts';
import { AdaptiveRate } from './AdaptiveRate.ts';
import type {
  BatchWriterOptions,
  BatchWriterStats,
  Entry,
  RowStart,
  Unacknowledged,
  WriteSample,
} from './batchTypes.ts';
import { PendingRows } from './pendingRows.ts';
import { SignedBatchWriteItemCommand } from './signedBatchWrite.ts';
import { toPutRequest } from './toPutRequest.ts';
import { emptyStats, sampleWrites } from './writerStats.ts';

export type { BatchWriterOptions, BatchWriterStats, RowStart, WriteSample } from './batchTypes.ts';

/** DynamoDB's limit for one BatchWriteItem call. */
export const BATCH_SIZE = 25;

/** How long a batch may go without the table accepting a single item, by default. */
export const DEFAULT_STALL_MS = 120_000;

/** Waits are cut into steps this long, so a stall or a failure elsewhere is noticed in time. */
const WAIT_STEP_MS = 250;

/** Thrown inside the writer once settle() reached its cut: the items stay unacknowledged. */
const CUT = new Error('the writer was cut off');

/**
 * Buffers items into 25-item BatchWriteItem calls and keeps several in flight, at the pace the
 * table accepts (AdaptiveRate: learned from throttling errors and UnprocessedItems). `put`
 * returns a promise only when the caller must wait (the window is full, or an earlier copy of the
 * same key is still in flight), so the hot path costs no microtask per row and the parser feels
 * backpressure instead of the file piling up in memory.
 *
 * A slow table is not a failure: a batch is retried for as long as the table accepts anything.
 * The writer gives up on a non-retryable error, when no item at all was accepted for `stallMs`,
 * or when the invocation is about to run out of time. The client should make one attempt per
 * call (SDK `maxAttempts: 1`, see clients.ts), so every throttle reaches the controller instead of
 * being retried blind inside the SDK. Calls go out as SignedBatchWriteItemCommand: the body built
 * with JSON.stringify and signed by the client's own signer, without the SDK's serialiser and
 * per-call middleware (signedBatchWrite.ts); a mocked client sees a BatchWriteItemCommand.
 *
 * Within a file the last row for a key wins: a repeat replaces the buffered one, and a key that
 * is already in flight is held back until that batch lands, since DynamoDB rejects a batch with
 * repeated keys and two batches in flight may land in any order.
 */
export class BatchWriter {
  public readonly stats: BatchWriterStats = emptyStats();
  public readonly rate: AdaptiveRate;
  private readonly budget: RetryBudget;
  private readonly stallMs: number;
  /** Every row not acknowledged yet, wherever it is: the low watermark's bookkeeping. */
  private readonly pending = new PendingRows();
  /** settle() has started: running out of time is its cut, no longer a failure. */
  private settling = false;
  /** settle() reached its cut: no new call goes out, calls in flight are aborted. */
  private cut = false;
  private readonly abort = new AbortController();
  private readonly inFlightKeys = new Map<string, Promise<void>>();
  private readonly window = new Set<Promise<void>>();
  private readonly held = new Set<Promise<void>>();
  private failure: InfrastructureError | null = null;
  /** Batches being sent; the stall clock starts with a busy spell (items sent again continue it). */
  private active = 0;
  private lastProgressAt = 0;
  private sampled = { at: performance.now(), items: 0, calls: 0, throttled: 0 };

  public constructor(
    private readonly client: DynamoDBClient,
    private readonly options: BatchWriterOptions,
  ) {
    this.budget = { ...DEFAULT_RETRY_BUDGET, ...options.budget };
    this.stallMs = options.stallMs ?? DEFAULT_STALL_MS;
    this.rate = new AdaptiveRate({
      maxInFlight: options.concurrency,
      itemsPerCall: BATCH_SIZE,
      ...options.rate,
    });
  }

  /**
   * Queues one item under its exact table key; `offset`/`line` are where its row starts in the
   * file (see lowWatermark). A repeat of a buffered key replaces the item and keeps the earlier
   * row's start, since that row is not acknowledged either.
   */
  public put(key: string, item: StudentRecord, offset = 0, line = 1): void | Promise<void> {
    if (this.failure) throw this.failure;
    const buffered = this.pending.find(key);
    // A buffered key still in flight was handed back: a later row waits for its batch to settle.
    if (buffered && !this.inFlightKeys.has(key)) {
      buffered.item = item;
      return;
    }
    return this.queue(key, { key, item, offset, line });
  }

  private queue(key: string, entry: Entry): void | Promise<void> {
    const landing = this.inFlightKeys.get(key);
    if (landing) {
      this.pending.hold(entry);
      const held = landing.then(() => {
        this.pending.release(entry);
        const buffered = this.pending.find(key);
        if (!buffered) return this.queue(key, entry);
        // Another row of this key was queued meanwhile: it is later, this one starts earlier.
        buffered.item = entry.item;
        buffered.offset = Math.min(buffered.offset, entry.offset);
        buffered.line = Math.min(buffered.line, entry.line);
      });
      this.held.add(held);
      return held.finally(() => this.held.delete(held));
    }
    // After the cut nothing is sent: the item stays in the buffer, below the watermark.
    if (this.pending.add(key, entry) >= BATCH_SIZE && !this.cut) return this.dispatch();
  }

  /**
   * Where the earliest row whose item the table has not acknowledged starts (buffered, waiting
   * for its turn, in flight, or held behind its key), or null when every item put is
   * acknowledged. Reading again from there and putting again what was read loses no row.
   */
  public lowWatermark(): RowStart | null {
    return this.pending.lowWatermark();
  }

  /**
   * Ends the writes of a part that hands over: sends what is queued until `leftMs()` (the time
   * left before the cut; by default the budget's time left less its safety margin) reaches 0 or everything is acknowledged; then sends
   * nothing more, aborts the calls in flight and waits for them at most `abortWaitMs`. Returns
   * lowWatermark(). Running out of time is no failure here; any other failure is thrown.
   */
  public async settle(
    leftMs = () => this.budget.remainingTimeMs() - this.budget.safetyMarginMs,
    abortWaitMs = 1_000,
  ): Promise<RowStart | null> {
    this.settling = true;
    let drained = false;
    const flushed = this.flush().then(
      () => {
        // A cut inside the writer (its own out-of-time check) also empties the window.
        drained = !this.cut;
      },
      (error: unknown) => {
        if (!this.cut) throw error;
      },
    );
    // A rejection before the loop looks again is kept for the await below, not left unhandled.
    flushed.catch(() => undefined);
    while (!drained && !this.cut) {
      const left = leftMs();
      if (left <= 0) break;
      await Promise.race([flushed, sleep(Math.min(left, WAIT_STEP_MS))]);
    }
    if (!drained) {
      this.cut = true;
      this.abort.abort();
      await Promise.race([Promise.allSettled([...this.window]), sleep(abortWaitMs)]);
    }
    if (this.failure && !this.cut) throw this.failure;
    return this.lowWatermark();
  }

  /** Sends what is buffered and waits for every call in flight. Throws the first failure. */
  public async flush(): Promise<BatchWriterStats> {
    // Held rows are queued once their key's batch lands, handed-back items return to the buffer.
    for (;;) {
      if (this.held.size > 0) await Promise.all(this.held);
      else if (this.pending.buffered > 0 && !this.cut && !this.failure) await this.dispatch();
      else if (this.window.size > 0) await Promise.race(this.window);
      else break;
    }
    if (this.failure) throw this.failure;
    if (this.cut && !this.settling) {
      throw new InfrastructureError(
        `BatchWriteItem to ${this.options.tableName}: out of time with ${this.pending.count} items not written`,
      );
    }
    return this.stats;
  }

  /** The writes were cut for lack of time: nothing more is sent (see settle). */
  public get isCut(): boolean {
    return this.cut;
  }

  /**
   * How long the items queued now (buffered, waiting for their turn, in flight or held behind
   * their key) would take to be accepted at the pace the table accepts now, in ms. A reader that
   * stops this long plus its margin before the deadline leaves the writer time to drain.
   */
  public drainMs(now = performance.now()): number {
    const queued = this.pending.count + this.held.size;
    return queued === 0 ? 0 : Math.ceil((queued * 1000) / this.rate.pace(now));
  }

  /** The write rate and the share of calls throttled since the last sample (for the progress line). */
  public sample(): WriteSample {
    const { sample, next } = sampleWrites(this.stats, this.sampled, this.rate.rate());
    this.sampled = next;
    return sample;
  }

  private async dispatch(): Promise<void> {
    if (this.cut) return;
    const { keys, batch: waiting } = this.pending.take(BATCH_SIZE);
    // The window follows the learned rate, so a deadline never waits long for it to drain.
    while (this.window.size >= this.rate.inFlight()) await Promise.race(this.window);
    if (this.failure) throw this.failure;
    if (this.cut) return;
    const sent = this.send(waiting).catch((error: unknown) => {
      // Past the cut an aborted or unsent batch is no failure: its items stay unacknowledged.
      if (this.cut) return;
      this.failure ??=
        error instanceof InfrastructureError
          ? error
          : new InfrastructureError('BatchWriteItem failed', { cause: error });
    });
    const settled = sent.finally(() => {
      this.window.delete(settled);
      for (const key of keys) {
        if (this.inFlightKeys.get(key) === settled) this.inFlightKeys.delete(key);
      }
    });
    this.window.add(settled);
    for (const key of keys) this.inFlightKeys.set(key, settled);
  }

  private async send(batch: Unacknowledged): Promise<void> {
    if (this.active++ === 0 && batch.cause === null) this.lastProgressAt = performance.now();
    try {
      await this.sendUntilAccepted(batch);
      this.pending.acknowledged(batch);
    } finally {
      this.active--;
    }
  }

  private async sendUntilAccepted(batch: Unacknowledged): Promise<void> {
    const table = this.options.tableName;
    let requests = batch.entries.map((entry) => toPutRequest(entry.item));
    let cause: unknown = batch.cause;
    /** Errors in a row that are not throttling: those back off exponentially. */
    let errors = 0;
    this.stats.batches++;
    for (;;) {
      // The pace may change while a call waits for its turn: ask again after each wait.
      for (let turn = this.rate.reserve(requests.length); turn > 0; ) {
        await this.wait(turn, requests.length, cause);
        turn = this.rate.reserve(requests.length);
      }
      if (cause !== null) await this.wait(0, requests.length, cause);
      if (this.cut) throw CUT;
      const sentAt = performance.now();
      this.stats.calls++;
      try {
        const out = await this.client.send(
          new SignedBatchWriteItemCommand({ RequestItems: { [table]: requests } }),
          { abortSignal: this.abort.signal },
        );
        const unprocessed = out.UnprocessedItems?.[table] ?? [];
        const accepted = requests.length - unprocessed.length;
        this.rate.onOutcome({ sent: requests.length, accepted, sentAt });
        this.stats.itemsWritten += accepted;
        this.pending.answered(batch, requests, accepted, unprocessed);
        if (accepted > 0) this.lastProgressAt = performance.now();
        if (unprocessed.length === 0) return;
        this.stats.throttled++;
        cause = new Error(`${unprocessed.length} UnprocessedItems`);
        if (this.handBack(batch, unprocessed.length, cause)) return;
        requests = unprocessed;
        errors = 0;
      } catch (error) {
        if (this.cut) throw CUT;
        if (!isTransient(error)) {
          throw new InfrastructureError(
            `BatchWriteItem to ${table} failed: ${(error as Error).message}`,
            { cause: error, transient: false },
          );
        }
        cause = error;
        if (isThrottling(error)) {
          this.stats.throttled++;
          this.stats.rejected++;
          this.rate.onOutcome({ sent: requests.length, accepted: 0, sentAt });
          if (requests.length < BATCH_SIZE && this.handBack(batch, requests.length, cause)) return;
        } else {
          errors++;
        }
      }
      this.stats.retries++;
      if (errors > 0)
        await this.wait(fullJitterDelay(errors - 1, this.budget), requests.length, cause);
    }
  }

  /** Items handed back go out again with the next rows (PendingRows.handBack); never after the cut. */
  private handBack(batch: Unacknowledged, handedBack: number, cause: unknown): boolean {
    if (this.cut || !this.pending.handBack(batch, handedBack, cause)) return false;
    this.stats.retries++;
    return true;
  }

  /**
   * Sleeps `ms` in short steps, giving up when another batch failed, when nothing was accepted
   * for the stall limit, or (with something to retry) when the invocation runs out of time.
   */
  private async wait(ms: number, pending: number, cause: unknown): Promise<void> {
    const table = this.options.tableName;
    for (let left = ms; ; left -= WAIT_STEP_MS) {
      if (this.failure) throw this.failure;
      if (this.cut) throw CUT;
      const stalled = performance.now() - this.lastProgressAt;
      if (cause !== null && stalled >= this.stallMs) {
        throw new InfrastructureError(
          `BatchWriteItem to ${table}: the table accepted no item for ${(stalled / 1000).toFixed(1)} s (WRITE_STALL_MS is ${this.stallMs} ms); ${pending} items not written: ${(cause as Error).message}`,
          { cause },
        );
      }
      if (
        (cause !== null || left > 0) &&
        this.budget.remainingTimeMs() - Math.max(0, left) <= this.budget.safetyMarginMs
      ) {
        // A part that hands over cuts its writes here instead (see settle).
        if (this.settling || this.options.cutWhenOutOfTime) {
          this.cut = true;
          throw CUT;
        }
        throw new InfrastructureError(
          `BatchWriteItem to ${table}: out of time with ${pending} items not written${cause ? `: ${(cause as Error).message}` : ''}`,
          { cause },
        );
      }
      if (left <= 0) return;
      await sleep(Math.max(1, Math.min(left, WAIT_STEP_MS, this.stallMs - stalled)));
    }
  }
}
