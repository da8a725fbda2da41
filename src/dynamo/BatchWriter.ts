import type { AttributeValue, DynamoDBClient, WriteRequest } from '@aws-sdk/client-dynamodb';
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
import { AdaptiveRate, type AdaptiveRateOptions } from './AdaptiveRate.ts';
import { SignedBatchWriteItemCommand } from './signedBatchWrite.ts';

/** DynamoDB's limit for one BatchWriteItem call. */
export const BATCH_SIZE = 25;

/** How long a batch may go without the table accepting a single item, by default. */
export const DEFAULT_STALL_MS = 120_000;

/** Waits are cut into steps this long, so a stall or a failure elsewhere is noticed in time. */
const WAIT_STEP_MS = 250;

export interface BatchWriterOptions {
  tableName: string;
  /** BatchWriteItem calls in flight at most (WRITE_CONCURRENCY): a ceiling, not a target. */
  concurrency: number;
  /** Give up when no item at all was accepted for this long (WRITE_STALL_MS). */
  stallMs?: number;
  /** Backoff for errors that are not throttling (5xx, dropped connections) and the deadline. */
  budget?: Partial<RetryBudget>;
  /** Tuning of the rate controller (tests). */
  rate?: Partial<AdaptiveRateOptions>;
}

export interface BatchWriterStats {
  /** Items DynamoDB accepted. */
  itemsWritten: number;
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

/** The progress line's view of the writes since the previous sample. */
export interface WriteSample {
  /** Items the table accepted per second. */
  writeRate: number;
  /** Share of calls (0–1) answered with UnprocessedItems or a throttling error. */
  throttledShare: number;
  /** The pace the writer holds itself to (items/s); null while the table has not pushed back. */
  rateLimit: number | null;
}

/**
 * A record's values as DynamoDB attribute values, built directly (no generic marshalling): the
 * schema's types decide them, strings S, integers and numbers N, booleans BOOL. A record of
 * strings (the student schema) takes the first branch only.
 */
function toPutRequest(item: StudentRecord): WriteRequest {
  const marshalled: Record<string, AttributeValue> = {};
  for (const name in item) {
    const value = item[name];
    if (typeof value === 'string') marshalled[name] = { S: value };
    else if (typeof value === 'number') marshalled[name] = { N: String(value) };
    else if (typeof value === 'boolean') marshalled[name] = { BOOL: value };
  }
  return { PutRequest: { Item: marshalled } };
}

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
  public readonly stats: BatchWriterStats = {
    itemsWritten: 0,
    batches: 0,
    calls: 0,
    throttled: 0,
    rejected: 0,
    retries: 0,
  };
  public readonly rate: AdaptiveRate;
  private readonly budget: RetryBudget;
  private readonly stallMs: number;
  private buffer = new Map<string, StudentRecord>();
  private readonly inFlightKeys = new Map<string, Promise<void>>();
  private readonly window = new Set<Promise<void>>();
  private readonly held = new Set<Promise<void>>();
  private failure: InfrastructureError | null = null;
  /** Batches being sent; the stall clock starts when the first one of a busy spell starts. */
  private active = 0;
  private lastProgressAt = 0;
  /** Items put and not yet accepted: buffered, waiting for their turn or in flight. */
  private pending = 0;
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

  /** Queues one item under its exact table key. */
  public put(key: string, item: StudentRecord): void | Promise<void> {
    if (this.failure) throw this.failure;
    if (this.buffer.has(key)) {
      this.buffer.set(key, item);
      return;
    }
    const landing = this.inFlightKeys.get(key);
    if (landing) {
      const held = landing.then(() => this.put(key, item));
      this.held.add(held);
      return held.finally(() => this.held.delete(held));
    }
    this.buffer.set(key, item);
    this.pending++;
    if (this.buffer.size >= BATCH_SIZE) return this.dispatch();
  }

  /** Sends what is buffered and waits for every call in flight. Throws the first failure. */
  public async flush(): Promise<BatchWriterStats> {
    // Rows held back behind their key's batch are queued once it lands: wait for them first.
    while (this.held.size > 0) await Promise.all(this.held);
    if (this.buffer.size > 0) await this.dispatch();
    while (this.window.size > 0) await Promise.all(this.window);
    if (this.failure) throw this.failure;
    return this.stats;
  }

  /**
   * How long the items queued now (buffered, waiting for their turn, in flight or held behind
   * their key) would take to be accepted at the pace the table accepts now, in ms. A reader that
   * stops this long plus its margin before the deadline leaves the writer time to drain.
   */
  public drainMs(now = performance.now()): number {
    const queued = this.pending + this.held.size;
    return queued === 0 ? 0 : Math.ceil((queued * 1000) / this.rate.pace(now));
  }

  /** The write rate and the share of calls throttled since the last sample (for the progress line). */
  public sample(): WriteSample {
    const now = performance.now();
    const { at, items, calls, throttled } = this.sampled;
    const made = this.stats.calls - calls;
    const rate = this.rate.rate();
    this.sampled = {
      at: now,
      items: this.stats.itemsWritten,
      calls: this.stats.calls,
      throttled: this.stats.throttled,
    };
    return {
      writeRate: Math.round(((this.stats.itemsWritten - items) * 1000) / Math.max(1, now - at)),
      throttledShare:
        made > 0 ? Math.round((100 * (this.stats.throttled - throttled)) / made) / 100 : 0,
      rateLimit: Number.isFinite(rate) ? Math.round(rate) : null,
    };
  }

  private async dispatch(): Promise<void> {
    const batch = this.buffer;
    this.buffer = new Map();
    // The window follows the learned rate, so a deadline never waits long for it to drain.
    while (this.window.size >= this.rate.inFlight()) await Promise.race(this.window);
    if (this.failure) throw this.failure;
    const sent = this.send([...batch.values()]).catch((error: unknown) => {
      this.failure ??=
        error instanceof InfrastructureError
          ? error
          : new InfrastructureError('BatchWriteItem failed', { cause: error });
    });
    const settled = sent.finally(() => {
      this.window.delete(settled);
      for (const key of batch.keys()) {
        if (this.inFlightKeys.get(key) === settled) this.inFlightKeys.delete(key);
      }
    });
    this.window.add(settled);
    for (const key of batch.keys()) this.inFlightKeys.set(key, settled);
  }

  private async send(items: StudentRecord[]): Promise<void> {
    if (this.active++ === 0) this.lastProgressAt = performance.now();
    try {
      await this.sendUntilAccepted(items.map(toPutRequest));
    } finally {
      this.active--;
    }
  }

  private async sendUntilAccepted(first: WriteRequest[]): Promise<void> {
    const table = this.options.tableName;
    let requests = first;
    let cause: unknown = null;
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
      const sentAt = performance.now();
      this.stats.calls++;
      try {
        const out = await this.client.send(
          new SignedBatchWriteItemCommand({ RequestItems: { [table]: requests } }),
        );
        const unprocessed = out.UnprocessedItems?.[table] ?? [];
        const accepted = requests.length - unprocessed.length;
        this.rate.onOutcome({ sent: requests.length, accepted, sentAt });
        this.stats.itemsWritten += accepted;
        this.pending -= accepted;
        if (accepted > 0) this.lastProgressAt = performance.now();
        if (unprocessed.length === 0) return;
        this.stats.throttled++;
        requests = unprocessed;
        errors = 0;
        cause = new Error(`${unprocessed.length} UnprocessedItems`);
      } catch (error) {
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
        } else {
          errors++;
        }
      }
      this.stats.retries++;
      if (errors > 0)
        await this.wait(fullJitterDelay(errors - 1, this.budget), requests.length, cause);
    }
  }

  /**
   * Sleeps `ms` in short steps, giving up when another batch failed, when nothing was accepted
   * for the stall limit, or (with something to retry) when the invocation runs out of time.
   */
  private async wait(ms: number, pending: number, cause: unknown): Promise<void> {
    const table = this.options.tableName;
    for (let left = ms; ; left -= WAIT_STEP_MS) {
      if (this.failure) throw this.failure;
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
