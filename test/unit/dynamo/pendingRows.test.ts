import type { WriteRequest } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import type { Entry } from '../../../src/dynamo/batchTypes.ts';
import { PendingRows, stillUnacknowledged } from '../../../src/dynamo/pendingRows.ts';
import { toPutRequest } from '../../../src/dynamo/toPutRequest.ts';

const entry = (id: string, offset: number, line: number): Entry => ({
  key: id,
  item: { student_id: id, course: 'Maths' },
  offset,
  line,
});
const requestOf = (row: Entry): WriteRequest => toPutRequest(row.item);

describe('Class: PendingRows', () => {
  describe('Method: take / handBack', () => {
    it('takes at most the batch size, the earliest first, and batches handed-back rows again with their cause', () => {
      // Prepare: a batch of 3 sent; the table hands 2 back while 2 more rows were buffered
      const rows = new PendingRows();
      for (const [i, id] of ['A', 'B', 'C'].entries()) rows.add(id, entry(id, i * 10, i + 2));
      const { batch } = rows.take(25);
      rows.add('D', entry('D', 30, 5));
      rows.add('E', entry('E', 40, 6));
      const sent = batch.entries.map(requestOf);
      const cause = new Error('2 UnprocessedItems');
      rows.answered(batch, sent, 1, [sent[2] as WriteRequest, sent[0] as WriteRequest]);

      // Act
      const handedBack = rows.handBack(batch, 2, cause);
      const next = rows.take(3);

      // Assess: the batch is empty; the 2 wait in the buffer, still under the watermark
      expect(handedBack).toBe(true);
      expect(batch.entries).toEqual([]);
      expect(next.keys).toEqual(['D', 'E', 'C']);
      expect(next.batch.cause).toBe(cause);
      expect(rows.buffered).toBe(1);
      expect(rows.count).toBe(4);
      expect(rows.lowWatermark()).toEqual({ offset: 0, line: 2 });
    });

    it('does not hand back a batch whose items could not be told apart', () => {
      // Prepare
      const rows = new PendingRows();
      rows.add('A', entry('A', 0, 2));
      const { batch } = rows.take(25);

      // Act: 2 handed back, but the batch kept all 3 of its entries
      batch.entries.push(entry('B', 10, 3), entry('C', 20, 4));
      const handedBack = rows.handBack(batch, 2, new Error('x'));

      // Assess
      expect(handedBack).toBe(false);
      expect(batch.entries).toHaveLength(3);
      expect(rows.buffered).toBe(0);
    });
  });

  describe('Method: lowWatermark', () => {
    it('is null when nothing was added, and once every batch is acknowledged', () => {
      // Prepare
      const rows = new PendingRows();
      expect(rows.lowWatermark()).toBeNull();
      rows.add('A', entry('A', 10, 2));

      // Act
      const { batch } = rows.take(25);
      rows.answered(batch, [requestOf(entry('A', 10, 2))], 1, []);
      rows.acknowledged(batch);

      // Assess
      expect(rows.lowWatermark()).toBeNull();
      expect(rows.count).toBe(0);
    });

    it('is the earliest start among buffered, unacknowledged and held rows', () => {
      // Prepare: a batch taken (rows at 40 and 60), a row buffered at 80, one held at 20
      const rows = new PendingRows();
      rows.add('B', entry('B', 40, 4));
      rows.add('C', entry('C', 60, 6));
      const { keys } = rows.take(25);
      rows.add('D', entry('D', 80, 8));
      const held = entry('E', 20, 2);

      // Act / Assess
      expect(keys).toEqual(['B', 'C']);
      expect(rows.lowWatermark()).toEqual({ offset: 40, line: 4 });
      rows.hold(held);
      expect(rows.lowWatermark()).toEqual({ offset: 20, line: 2 });
      rows.release(held);
      expect(rows.lowWatermark()).toEqual({ offset: 40, line: 4 });
    });

    it('moves up as the table accepts part of a batch, keeping the rows handed back', () => {
      // Prepare
      const rows = new PendingRows();
      const sent = [entry('A', 0, 1), entry('B', 10, 2), entry('C', 20, 3)];
      for (const row of sent) rows.add(row.item.student_id as string, row);
      const { batch } = rows.take(25);
      const requests = sent.map(requestOf);

      // Act: A and B accepted, C handed back
      rows.answered(batch, requests, 2, [requests[2] as WriteRequest]);

      // Assess
      expect(batch.entries).toEqual([sent[2]]);
      expect(rows.count).toBe(1);
      expect(rows.lowWatermark()).toEqual({ offset: 20, line: 3 });
    });
  });

  describe('Method: add', () => {
    it('counts what is buffered and empties the buffer on take', () => {
      // Prepare
      const rows = new PendingRows();

      // Act
      const sizes = [rows.add('A', entry('A', 0, 1)), rows.add('B', entry('B', 5, 2))];
      const found = rows.find('B');
      rows.take(25);

      // Assess
      expect(sizes).toEqual([1, 2]);
      expect(found?.offset).toBe(5);
      expect(rows.buffered).toBe(0);
      expect(rows.find('B')).toBeUndefined();
      expect(rows.count).toBe(2);
    });
  });
});

describe('Function: stillUnacknowledged', () => {
  it('keeps the entries of the items handed back, in the order handed back', () => {
    // Prepare
    const entries = [entry('A', 0, 1), entry('B', 10, 2), entry('C', 20, 3)];
    const sent = entries.map(requestOf);

    // Act
    const left = stillUnacknowledged(sent, entries, [
      sent[2] as WriteRequest,
      sent[0] as WriteRequest,
    ]);

    // Assess
    expect(left).toEqual([entries[2], entries[0]]);
  });

  it('keeps every entry when an item handed back was not among those sent', () => {
    // Prepare
    const entries = [entry('A', 0, 1), entry('B', 10, 2)];
    const sent = entries.map(requestOf);

    // Act
    const left = stillUnacknowledged(sent, entries, [requestOf(entry('Z', 99, 9))]);

    // Assess
    expect(left).toBe(entries);
  });
});
