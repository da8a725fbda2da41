import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import type { Entry, RowStart, Unacknowledged } from './batchTypes.ts';
import { itemIdentity } from './toPutRequest.ts';

/**
 * The rows a writer was given and the table has not acknowledged, wherever they are: buffered
 * for the next batch, in a batch waiting for its turn or in flight, or held back behind their
 * key's batch. Their earliest start is the low watermark a part hands over at.
 */
export class PendingRows {
  private buffer = new Map<string, Entry>();
  /** Batches from the moment they leave the buffer until every item is acknowledged. */
  private readonly unacknowledged = new Set<Unacknowledged>();
  /** Rows waiting for their key's batch to land. */
  private readonly heldEntries = new Set<Entry>();
  /** Items put and not yet accepted: buffered, waiting for their turn or in flight. */
  private items = 0;

  /** Items buffered, waiting for their turn or in flight (not those held behind their key). */
  public get count(): number {
    return this.items;
  }

  /** Items in the buffer, for the next batch. */
  public get buffered(): number {
    return this.buffer.size;
  }

  /** The buffered entry of a key, if there is one. */
  public find(key: string): Entry | undefined {
    return this.buffer.get(key);
  }

  /** Buffers a row under its key (none is buffered for it) and returns the buffer's size. */
  public add(key: string, entry: Entry): number {
    this.buffer.set(key, entry);
    this.items++;
    return this.buffer.size;
  }

  /** Keeps a row waiting for its key's batch to land; release() when it is queued again. */
  public hold(entry: Entry): void {
    this.heldEntries.add(entry);
  }

  public release(entry: Entry): void {
    this.heldEntries.delete(entry);
  }

  /**
   * Takes up to `max` buffered entries, the earliest first, into a batch, unacknowledged until
   * acknowledged() is called for it (entries handed back may overfill the buffer).
   */
  public take(max: number): { keys: string[]; batch: Unacknowledged } {
    let taken = this.buffer;
    if (taken.size <= max) this.buffer = new Map();
    else {
      taken = new Map();
      for (const [key, entry] of this.buffer) {
        if (taken.size === max) break;
        taken.set(key, entry);
        this.buffer.delete(key);
      }
    }
    const entries = [...taken.values()];
    const retried = entries.find((entry) => entry.retryCause !== undefined);
    const batch: Unacknowledged = { entries, cause: retried ? retried.retryCause : null };
    this.unacknowledged.add(batch);
    return { keys: [...taken.keys()], batch };
  }

  /**
   * Puts the entries a call handed back (`handedBack` items) into the buffer, so they go out
   * again with the next rows in full calls instead of in ever smaller ones: the window holds
   * calls, not items. Their keys stay in flight until the batch settles (a later row of such a
   * key waits behind it, then replaces the buffered item: the last row still wins). Only when
   * each item handed back was told apart; otherwise the batch retries as it is.
   */
  public handBack(batch: Unacknowledged, handedBack: number, cause: unknown): boolean {
    if (batch.entries.length !== handedBack) return false;
    for (const entry of batch.entries) {
      entry.retryCause = cause;
      this.buffer.set(entry.key, entry);
    }
    batch.entries = [];
    return true;
  }

  /**
   * The table accepted `accepted` of the `sent` requests and handed `unprocessed` back: the
   * batch keeps the entries of those only.
   */
  public answered(
    batch: Unacknowledged,
    sent: WriteRequest[],
    accepted: number,
    unprocessed: WriteRequest[],
  ): void {
    this.items -= accepted;
    if (unprocessed.length > 0) {
      batch.entries = stillUnacknowledged(sent, batch.entries, unprocessed);
    }
  }

  /** Every item of the batch was accepted. */
  public acknowledged(batch: Unacknowledged): void {
    this.unacknowledged.delete(batch);
  }

  /**
   * Where the earliest row whose item the table has not acknowledged starts, or null when every
   * item put is acknowledged.
   */
  public lowWatermark(): RowStart | null {
    let low: Entry | null = null;
    const consider = (entry: Entry) => {
      if (low === null || entry.offset < low.offset) low = entry;
    };
    for (const entry of this.buffer.values()) consider(entry);
    for (const batch of this.unacknowledged) for (const entry of batch.entries) consider(entry);
    for (const entry of this.heldEntries) consider(entry);
    const found = low as Entry | null;
    return found ? { offset: found.offset, line: found.line } : null;
  }
}

/** The entries of the items handed back; all of them when one cannot be told apart. */
export function stillUnacknowledged(
  sent: WriteRequest[],
  entries: Entry[],
  unprocessed: WriteRequest[],
): Entry[] {
  const byItem = new Map<string, Entry[]>();
  sent.forEach((request, i) => {
    const entry = entries[i];
    if (!entry) return;
    const id = itemIdentity(request.PutRequest?.Item);
    byItem.set(id, [...(byItem.get(id) ?? []), entry]);
  });
  const left: Entry[] = [];
  for (const request of unprocessed) {
    const entry = byItem.get(itemIdentity(request.PutRequest?.Item))?.shift();
    if (!entry) return entries;
    left.push(entry);
  }
  return left;
}
