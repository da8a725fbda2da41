import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { InfrastructureError } from '../errors.ts';
import type { StudentRecord } from '../types.ts';
import {
  canRetry,
  DEFAULT_RETRY_BUDGET,
  fullJitterDelay,
  isTransient,
  type RetryBudget,
  sleep,
} from '../retry.ts';

/** DynamoDB's limit for one BatchWriteItem call. */
export const BATCH_SIZE = 25;

type WriteRequest = { PutRequest: { Item: StudentRecord } };

export interface BatchWriterOptions {
  tableName: string;
  /** BatchWriteItem calls kept in flight at once. */
  concurrency: number;
  budget?: Partial<RetryBudget>;
}

export interface BatchWriterStats {
  /** Items DynamoDB accepted. */
  itemsWritten: number;
  batches: number;
  /** Calls repeated for throttling or UnprocessedItems. */
  retries: number;
}

/**
 * Buffers items into 25-item BatchWriteItem calls and keeps several in flight. `put` returns a
 * promise only when the caller must wait (the window is full, or an earlier copy of the same key
 * is still in flight), so the hot path costs no microtask per row and the parser feels
 * backpressure instead of the file piling up in memory.
 *
 * Within a file the last row for a key wins: a repeat replaces the buffered one, and a key that
 * is already in flight is held back until that batch lands, since DynamoDB rejects a batch with
 * repeated keys and two batches in flight may land in any order.
 */
export class BatchWriter {
  public readonly stats: BatchWriterStats = { itemsWritten: 0, batches: 0, retries: 0 };
  private readonly budget: RetryBudget;
  private buffer = new Map<string, StudentRecord>();
  private readonly inFlightKeys = new Map<string, Promise<void>>();
  private readonly window = new Set<Promise<void>>();
  private readonly held = new Set<Promise<void>>();
  private failure: InfrastructureError | null = null;

  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: BatchWriterOptions,
  ) {
    this.budget = { ...DEFAULT_RETRY_BUDGET, ...options.budget };
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

  private async dispatch(): Promise<void> {
    const batch = this.buffer;
    this.buffer = new Map();
    while (this.window.size >= this.options.concurrency) await Promise.race(this.window);
    if (this.failure) throw this.failure;
    const sent = this.send([...batch.values()]).then(
      () => {
        this.stats.itemsWritten += batch.size;
      },
      (error: unknown) => {
        this.failure ??=
          error instanceof InfrastructureError
            ? error
            : new InfrastructureError('BatchWriteItem failed', { cause: error });
      },
    );
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
    const table = this.options.tableName;
    let requests: WriteRequest[] = items.map((Item) => ({ PutRequest: { Item } }));
    this.stats.batches++;
    for (let attempt = 0; ; attempt++) {
      let cause: unknown;
      try {
        const out = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [table]: requests } }),
        );
        const unprocessed = (out.UnprocessedItems?.[table] ?? []) as WriteRequest[];
        if (unprocessed.length === 0) return;
        requests = unprocessed;
        cause = new Error(`${unprocessed.length} UnprocessedItems`);
      } catch (error) {
        if (!isTransient(error)) {
          throw new InfrastructureError(
            `BatchWriteItem to ${table} failed: ${(error as Error).message}`,
            {
              cause: error,
              transient: false,
            },
          );
        }
        cause = error;
      }
      const delay = fullJitterDelay(attempt, this.budget);
      if (!canRetry(attempt + 1, delay, this.budget)) {
        throw new InfrastructureError(
          `BatchWriteItem to ${table} still failing after ${attempt + 1} attempts (${requests.length} items not written): ${(cause as Error).message}`,
          { cause },
        );
      }
      this.stats.retries++;
      await sleep(delay);
    }
  }
}
