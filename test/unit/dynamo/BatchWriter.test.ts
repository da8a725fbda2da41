import {
  type AttributeValue,
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  BATCH_SIZE,
  BatchWriter,
  type BatchWriterOptions,
} from '../../../src/dynamo/BatchWriter.ts';
import { InfrastructureError } from '../../../src/errors.ts';
import type { StudentRecord } from '../../../src/types.ts';

const TABLE = 'students';
const client = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const ddbMock = mockClient(client);
const BatchWriteCommand = BatchWriteItemCommand;
type BatchWriteCommandInput = BatchWriteItemCommandInput;

const marshalled = (item: StudentRecord): Record<string, AttributeValue> =>
  Object.fromEntries(Object.entries(item).map(([name, value]) => [name, { S: String(value) }]));
const unmarshalled = (item: Record<string, AttributeValue> | undefined): StudentRecord =>
  Object.fromEntries(Object.entries(item ?? {}).map(([name, value]) => [name, value.S ?? '']));
const putOf = (item: StudentRecord): WriteRequest => ({ PutRequest: { Item: marshalled(item) } });

const record = (i: number, course = 'Maths', first = 'Jack'): StudentRecord => ({
  student_id: `A${String(i).padStart(5, '0')}`,
  first_name: first,
  last_name: 'Reacher',
  course,
});
const keyOf = (item: StudentRecord): string => `${item.student_id}\u0000${item.course}`;

const writer = (options: Partial<BatchWriterOptions> = {}): BatchWriter =>
  new BatchWriter(client, {
    tableName: TABLE,
    concurrency: 4,
    // Fast retries: the delays themselves are tested in retry.test.ts.
    budget: { baseDelayMs: 1, maxDelayMs: 2 },
    ...options,
  });

/** Puts every item, waiting whenever the writer asks the caller to, as loadRows does. */
async function putAll(target: BatchWriter, items: StudentRecord[]): Promise<void> {
  for (const item of items) {
    const wait = target.put(keyOf(item), item);
    if (wait) await wait;
  }
}

const sentItems = (input: BatchWriteCommandInput): StudentRecord[] =>
  (input.RequestItems?.[TABLE] ?? []).map((request) => unmarshalled(request.PutRequest?.Item));

const calls = (): StudentRecord[][] =>
  ddbMock.commandCalls(BatchWriteCommand).map((call) => sentItems(call.args[0].input));

const serviceError = (name: string, status: number): Error =>
  Object.assign(new Error(`${name} message`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

async function failureOf(promise: Promise<unknown>): Promise<InfrastructureError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!(error instanceof InfrastructureError))
    throw new Error(`expected an InfrastructureError, got ${String(error)}`);
  return error;
}

describe('Class: BatchWriter', () => {
  beforeEach(() => {
    ddbMock.reset();
    ddbMock.on(BatchWriteCommand).resolves({});
  });

  afterAll(() => {
    ddbMock.restore();
  });

  describe('Method: put / flush', () => {
    it('sends items in BatchWriteItem calls of at most 25, as PutRequests on the table', async () => {
      // Prepare
      const items = Array.from({ length: 60 }, (_, i) => record(i));
      const target = writer();

      // Act
      await putAll(target, items);
      const stats = await target.flush();

      // Assess
      expect(BATCH_SIZE).toBe(25);
      expect(calls().map((batch) => batch.length)).toEqual([25, 25, 10]);
      expect(calls().flat()).toEqual(items);
      expect(ddbMock.commandCalls(BatchWriteCommand)[0]?.args[0].input).toEqual({
        RequestItems: { [TABLE]: items.slice(0, 25).map(putOf) },
      });
      expect(stats).toEqual({
        itemsWritten: 60,
        batches: 3,
        calls: 3,
        throttled: 0,
        rejected: 0,
        retries: 0,
      });
    });

    it('sends nothing for nothing', async () => {
      // Act
      const stats = await writer().flush();

      // Assess
      expect(calls()).toEqual([]);
      expect(stats.itemsWritten).toBe(0);
    });

    it('keeps several batches in flight but never more than the concurrency window', async () => {
      // Prepare
      let inFlight = 0;
      let most = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        inFlight++;
        most = Math.max(most, inFlight);
        await sleep(5);
        inFlight--;
        return {};
      });
      const target = writer({ concurrency: 3 });

      // Act
      await putAll(
        target,
        Array.from({ length: 25 * 12 }, (_, i) => record(i)),
      );
      const stats = await target.flush();

      // Assess
      expect(most).toBe(3);
      expect(inFlight).toBe(0);
      expect(stats).toMatchObject({ itemsWritten: 300, batches: 12, retries: 0 });
    });

    it('makes the caller wait while the window is full (backpressure)', async () => {
      // Prepare
      const gate = deferred();
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        await gate.promise;
        return {};
      });
      const target = writer({ concurrency: 1 });
      for (let i = 0; i < 25; i++) target.put(keyOf(record(i)), record(i));

      // Act: the 50th item fills a second batch while the first is still in flight
      for (let i = 25; i < 49; i++) target.put(keyOf(record(i)), record(i));
      const waited = target.put(keyOf(record(49)), record(49));
      let released = false;
      void waited?.then(() => {
        released = true;
      });
      await sleep(10);

      // Assess
      expect(waited).toBeInstanceOf(Promise);
      expect(released).toBe(false);
      expect(calls()).toHaveLength(1);
      gate.resolve();
      await waited;
      await target.flush();
      expect(calls()).toHaveLength(2);
    });
  });

  describe('Method: put (duplicate keys)', () => {
    it('replaces a buffered item with a later one of the same key (last wins, sent once)', async () => {
      // Prepare
      const target = writer();

      // Act
      await putAll(target, [
        record(1, 'Maths', 'First'),
        record(2),
        record(1, 'Maths', 'Second'),
        record(1, 'Physics'),
      ]);
      await target.flush();

      // Assess
      expect(calls()).toEqual([[record(1, 'Maths', 'Second'), record(2), record(1, 'Physics')]]);
    });

    it('holds a key back while an earlier copy is in flight, and sends it only after that batch landed', async () => {
      // Prepare
      const events: string[] = [];
      const firstBatch = deferred();
      let call = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => {
        const n = ++call;
        const names = sentItems(input).filter((item) => item.student_id === 'A00007');
        events.push(`send ${n}: ${names.map((item) => item.first_name).join(',')}`);
        if (n === 1) await firstBatch.promise;
        events.push(`land ${n}`);
        return {};
      });
      const target = writer({ concurrency: 4 });
      await putAll(
        target,
        Array.from({ length: 25 }, (_, i) => record(i, 'Maths', i === 7 ? 'Old' : 'Jack')),
      );

      // Act: the same key again while the first batch is still in flight
      const held = target.put(keyOf(record(7)), record(7, 'Maths', 'New'));
      let released = false;
      void held?.then(() => {
        released = true;
      });
      await sleep(10);
      const beforeLanding = { released, calls: call };
      firstBatch.resolve();
      await held;
      await target.flush();

      // Assess
      expect(held).toBeInstanceOf(Promise);
      expect(beforeLanding).toEqual({ released: false, calls: 1 });
      expect(events).toEqual(['send 1: Old', 'land 1', 'send 2: New', 'land 2']);
    });
    it('writes a held-back row even when flush is called before the row was released', async () => {
      // Prepare
      const firstBatch = deferred();
      let call = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        if (++call === 1) await firstBatch.promise;
        return {};
      });
      const target = writer({ concurrency: 4 });
      await putAll(
        target,
        Array.from({ length: 25 }, (_, i) => record(i)),
      );

      // Act: the same key again, then flush at once without waiting for the put
      void target.put(keyOf(record(7)), record(7, 'Maths', 'Held'));
      const flushed = target.flush();
      firstBatch.resolve();
      await flushed;

      // Assess
      expect(calls()).toHaveLength(2);
      expect(calls()[1]).toEqual([record(7, 'Maths', 'Held')]);
    });
  });

  describe('Method: flush (retries)', () => {
    it('retries UnprocessedItems, only those, until none are left', async () => {
      // Prepare
      const items = Array.from({ length: 25 }, (_, i) => record(i));
      const requests = items.map(putOf);
      ddbMock
        .on(BatchWriteCommand)
        .resolvesOnce({ UnprocessedItems: { [TABLE]: requests.slice(15) } })
        .resolvesOnce({ UnprocessedItems: { [TABLE]: requests.slice(22) } })
        .resolves({ UnprocessedItems: {} });
      const target = writer();

      // Act
      await putAll(target, items);
      const stats = await target.flush();

      // Assess
      expect(calls()).toEqual([items, items.slice(15), items.slice(22)]);
      expect(stats).toEqual({
        itemsWritten: 25,
        batches: 3,
        calls: 3,
        throttled: 2,
        rejected: 0,
        retries: 2,
      });
    });

    it('sends the items a call handed back again with the next ones, in full calls', async () => {
      // Prepare: one call in flight at a time; the first call hands back 10 of its 25 items
      const items = Array.from({ length: 60 }, (_, i) => record(i));
      const requests = items.map(putOf);
      ddbMock
        .on(BatchWriteCommand)
        .resolvesOnce({ UnprocessedItems: { [TABLE]: requests.slice(15, 25) } })
        .resolves({ UnprocessedItems: {} });
      const target = writer({ concurrency: 1 });

      // Act
      await putAll(target, items);
      const stats = await target.flush();

      // Assess: 3 calls, not 4 (a call of the 10 alone); every item accepted once
      const sent = calls();
      expect(sent.map((call) => call.length)).toEqual([25, 25, 20]);
      const again = sent
        .slice(1)
        .flat()
        .map((item) => item.student_id);
      expect(again.sort()).toEqual(items.slice(15).map((item) => item.student_id));
      expect(stats).toMatchObject({ itemsWritten: 60, calls: 3, throttled: 1, retries: 1 });
    });

    it('lets a later row of a handed-back key replace it: the last row is the one written', async () => {
      // Prepare: the first call lands only when the test says, handing back row 3
      const firstCall = deferred();
      const items = Array.from({ length: 25 }, (_, i) => record(i, 'Maths', 'Old'));
      let call = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        if (++call > 1) return {};
        await firstCall.promise;
        return { UnprocessedItems: { [TABLE]: [putOf(items[3] as StudentRecord)] } };
      });
      const target = writer({ concurrency: 4 });
      await putAll(target, items);

      // Act: a later row of the same key while the first copy is in flight, then the hand-back
      const held = target.put(keyOf(record(3)), record(3, 'Maths', 'New'));
      firstCall.resolve();
      await held;
      const stats = await target.flush();

      // Assess: the handed-back old row is never sent again, the new one once
      expect(calls().slice(1)).toEqual([[record(3, 'Maths', 'New')]]);
      expect(stats.itemsWritten).toBe(25);
    });

    it('retries throttling (ProvisionedThroughputExceededException, ThrottlingException)', async () => {
      // Prepare
      ddbMock
        .on(BatchWriteCommand)
        .rejectsOnce(serviceError('ProvisionedThroughputExceededException', 400))
        .rejectsOnce(serviceError('ThrottlingException', 400))
        .resolves({});
      const target = writer({ rate: { minRate: 1_000 } });

      // Act
      await putAll(target, [record(1), record(2)]);
      const stats = await target.flush();

      // Assess
      expect(calls()).toEqual([
        [record(1), record(2)],
        [record(1), record(2)],
        [record(1), record(2)],
      ]);
      expect(stats).toMatchObject({ itemsWritten: 2, calls: 3, throttled: 2, rejected: 2 });
    });

    it('slows down when the table pushes back: later calls wait for the learned rate', async () => {
      // Prepare: every call gets only 5 of its items accepted
      ddbMock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => {
        const requests = input.RequestItems?.[TABLE] ?? [];
        return { UnprocessedItems: requests.length > 5 ? { [TABLE]: requests.slice(5) } : {} };
      });
      const target = writer({ concurrency: 4 });
      const started = performance.now();

      // Act
      await putAll(
        target,
        Array.from({ length: 100 }, (_, i) => record(i)),
      );
      await target.flush();

      // Assess: unlimited at first, then paced below what the table accepted
      expect(target.rate.decreases).toBeGreaterThan(0);
      expect(Number.isFinite(target.rate.rate())).toBe(true);
      expect(new Set(calls().flat().map(keyOf)).size).toBe(100);
      expect(performance.now() - started).toBeGreaterThan(50);
    });

    it('never gives up on a table that accepts items, however slowly (no attempt limit)', async () => {
      // Prepare: one item per call is accepted, for 60 calls
      ddbMock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => {
        const requests = input.RequestItems?.[TABLE] ?? [];
        return { UnprocessedItems: { [TABLE]: requests.slice(1) } };
      });
      const target = writer({
        concurrency: 1,
        stallMs: 200,
        rate: { minRate: 10_000, cubicC: 1e9 },
      });

      // Act
      await putAll(
        target,
        Array.from({ length: 60 }, (_, i) => record(i)),
      );
      const stats = await target.flush();

      // Assess
      expect(stats).toMatchObject({ itemsWritten: 60, calls: 60 });
    });

    it('gives up once the table accepted no item for the stall limit, naming it and the cause', async () => {
      // Prepare
      const throttled = serviceError('ProvisionedThroughputExceededException', 400);
      ddbMock.on(BatchWriteCommand).rejects(throttled);
      const target = writer({ stallMs: 300 });
      await putAll(target, [record(1)]);
      const started = performance.now();

      // Act
      const error = await failureOf(target.flush());

      // Assess
      const waited = performance.now() - started;
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2_000);
      expect(error.transient).toBe(true);
      expect(error.cause).toBe(throttled);
      expect(error.message).toMatch(
        /^BatchWriteItem to students: the table accepted no item for 0\.\d s \(WRITE_STALL_MS is 300 ms\); 1 items not written: /,
      );
    });

    it('gives up on UnprocessedItems that never go away, naming them as the cause', async () => {
      // Prepare
      ddbMock.on(BatchWriteCommand).callsFake(async (input: BatchWriteCommandInput) => ({
        UnprocessedItems: input.RequestItems,
      }));
      const target = writer({ stallMs: 200 });
      await putAll(target, [record(1), record(2), record(3)]);

      // Act
      const error = await failureOf(target.flush());

      // Assess
      expect(calls().length).toBeGreaterThan(1);
      expect(error.transient).toBe(true);
      expect((error.cause as Error).message).toBe('3 UnprocessedItems');
    });

    it('backs off exponentially on errors that are not throttling, without slowing the rate', async () => {
      // Prepare
      ddbMock
        .on(BatchWriteCommand)
        .rejectsOnce(serviceError('InternalServerError', 500))
        .rejectsOnce(serviceError('InternalServerError', 500))
        .resolves({});
      const target = writer();
      await putAll(target, [record(1)]);

      // Act
      const stats = await target.flush();

      // Assess
      expect(stats).toMatchObject({ itemsWritten: 1, calls: 3, throttled: 0, retries: 2 });
      expect(target.rate.decreases).toBe(0);
    });

    it('stops retrying when the invocation has too little time left', async () => {
      // Prepare
      ddbMock.on(BatchWriteCommand).rejects(serviceError('ThrottlingException', 400));
      const target = writer({
        budget: { remainingTimeMs: () => 5_000, safetyMarginMs: 10_000 },
      });
      await putAll(target, [record(1)]);

      // Act
      const error = await failureOf(target.flush());

      // Assess
      expect(calls()).toHaveLength(1);
      expect(error.message).toBe(
        'BatchWriteItem to students: out of time with 1 items not written: ThrottlingException message',
      );
    });

    it('does not retry a non-retryable error: InfrastructureError with transient=false', async () => {
      // Prepare
      const invalid = serviceError('ValidationException', 400);
      ddbMock.on(BatchWriteCommand).rejects(invalid);
      const target = writer();
      await putAll(target, [record(1)]);

      // Act
      const error = await failureOf(target.flush());

      // Assess
      expect(calls()).toHaveLength(1);
      expect(error.transient).toBe(false);
      expect(error.cause).toBe(invalid);
      expect(error.message).toBe('BatchWriteItem to students failed: ValidationException message');
    });

    it('refuses further puts after a batch failed', async () => {
      // Prepare
      ddbMock.on(BatchWriteCommand).rejects(serviceError('ValidationException', 400));
      const target = writer();
      await putAll(
        target,
        Array.from({ length: 25 }, (_, i) => record(i)),
      );
      const failure = await failureOf(target.flush());

      // Act & Assess
      expect(() => target.put(keyOf(record(99)), record(99))).toThrow(failure);
    });
  });

  describe('Method: settle (low watermark)', () => {
    /** Row `i` starts at byte 100·i, on line i + 2 (a header on line 1). */
    const at = (i: number) => ({ offset: 100 * i, line: i + 2 });
    const putRows = async (target: BatchWriter, rows: number[], item = record): Promise<void> => {
      for (const i of rows) {
        const wait = target.put(keyOf(item(i)), item(i), at(i).offset, at(i).line);
        if (wait) await wait;
      }
    };
    /** A cut the test decides: settle's time runs out when `clock.left` is 0. */
    const clock = { left: 1 };
    const cutWhen = () => clock.left;
    beforeEach(() => {
      clock.left = 1;
    });

    it('returns null once every item is acknowledged', async () => {
      // Prepare
      const target = writer();
      await putRows(
        target,
        Array.from({ length: 40 }, (_, i) => i),
      );

      // Act
      const watermark = await target.settle(cutWhen);

      // Assess
      expect(watermark).toBeNull();
      expect(target.stats.itemsWritten).toBe(40);
    });

    it('cuts at the deadline with nothing acknowledged: the first row put is the watermark', async () => {
      // Prepare: every call hangs until the test lets it go
      const gate = deferred();
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        await gate.promise;
        return {};
      });
      const target = writer();
      await putRows(
        target,
        Array.from({ length: 60 }, (_, i) => i + 3),
      );

      // Act
      const settled = target.settle(cutWhen, 10);
      await sleep(20);
      clock.left = 0;
      const watermark = await settled;
      const callsAtCut = calls().length;
      gate.resolve();
      await sleep(10);

      // Assess: no new call after the cut either
      expect(watermark).toEqual(at(3));
      expect(callsAtCut).toBeGreaterThan(0);
      expect(calls()).toHaveLength(callsAtCut);
    });

    it('moves past acknowledged batches: the watermark is the first row of the first batch not acknowledged', async () => {
      // Prepare: the first call lands, the second and third hang
      const gate = deferred();
      let call = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        if (++call > 1) await gate.promise;
        return {};
      });
      const target = writer({ concurrency: 1 });
      await putRows(
        target,
        Array.from({ length: 25 }, (_, i) => i),
      );
      await sleep(10);
      const more = putRows(
        target,
        Array.from({ length: 30 }, (_, i) => 25 + i),
      );
      await sleep(10);

      // Act
      clock.left = 0;
      const watermark = await target.settle(cutWhen, 10);
      gate.resolve();
      await more;

      // Assess
      expect(watermark).toEqual(at(25));
    });

    it('counts only the items a partly acknowledged batch got back, in whatever order they come', async () => {
      // Prepare: 25 items; the table takes all but items 20 and 15 (handed back in that order),
      // then throttles every retry
      const items = Array.from({ length: 25 }, (_, i) => record(i + 10));
      const requests = items.map(putOf);
      ddbMock
        .on(BatchWriteCommand)
        .resolvesOnce({
          UnprocessedItems: { [TABLE]: [requests[10], requests[5]] as WriteRequest[] },
        })
        .rejects(serviceError('ProvisionedThroughputExceededException', 400));
      const target = writer();
      await putRows(
        target,
        Array.from({ length: 25 }, (_, i) => i + 10),
      );

      // Act
      const settled = target.settle(cutWhen, 10);
      await sleep(30);
      clock.left = 0;
      const watermark = await settled;

      // Assess
      expect(target.stats.itemsWritten).toBe(23);
      expect(watermark).toEqual(at(15));
    });

    it('keeps the start of the earlier row when a later one of the same key replaces it in the buffer', async () => {
      // Prepare: calls hang; row 5 and row 7 share a key, row 7's values are the ones sent
      const gate = deferred();
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        await gate.promise;
        return {};
      });
      const target = writer();
      const sameKey = (i: number) => (i === 7 ? record(5, 'Maths', 'Later') : record(i));
      await putRows(target, [5, 6, 7], sameKey);

      // Act
      const settled = target.settle(cutWhen, 10);
      await sleep(10);
      clock.left = 0;
      const watermark = await settled;
      gate.resolve();

      // Assess
      expect(calls()).toEqual([[record(5, 'Maths', 'Later'), record(6)]]);
      expect(watermark).toEqual(at(5));
    });

    it('carries the start of a row held behind its key into the batch it is sent in', async () => {
      // Prepare: the first batch (rows 0–24, key of row 7 among them) lands when released; the
      // next call hangs
      const firstBatch = deferred();
      const never = deferred();
      let call = 0;
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        await (++call === 1 ? firstBatch.promise : never.promise);
        return {};
      });
      const target = writer();
      await putRows(
        target,
        Array.from({ length: 25 }, (_, i) => i),
      );
      // Row 30 repeats row 7's key while row 7 is in flight: it is held back
      const held = target.put(
        keyOf(record(7)),
        record(7, 'Maths', 'Held'),
        at(30).offset,
        at(30).line,
      );

      // Act
      const settled = target.settle(cutWhen, 10);
      await sleep(10);
      const whileHeld = target.lowWatermark();
      firstBatch.resolve();
      await held;
      await sleep(10);
      clock.left = 0;
      const watermark = await settled;
      never.resolve();

      // Assess
      expect(held).toBeInstanceOf(Promise);
      expect(whileHeld).toEqual(at(0));
      expect(calls()[1]).toEqual([record(7, 'Maths', 'Held')]);
      expect(watermark).toEqual(at(30));
    });

    it("never fails for lack of time: the writer's own out-of-time check becomes the cut", async () => {
      // Prepare: the table throttles everything and the invocation is inside the safety margin
      ddbMock
        .on(BatchWriteCommand)
        .rejects(serviceError('ProvisionedThroughputExceededException', 400));
      let remaining = 60_000;
      const target = writer({
        budget: { remainingTimeMs: () => remaining, safetyMarginMs: 1_000 },
      });
      await putRows(
        target,
        Array.from({ length: 30 }, (_, i) => i),
      );

      // Act: settle's own deadline (remaining time less the safety margin) passes
      const settled = target.settle(undefined, 10);
      await sleep(20);
      remaining = 900;
      const watermark = await settled;

      // Assess
      expect(watermark).toEqual(at(0));
      expect(target.stats.itemsWritten).toBe(0);
    });

    it('throws a failure that is not about time', async () => {
      // Prepare
      ddbMock.on(BatchWriteCommand).rejects(serviceError('ValidationException', 400));
      const target = writer();
      await putRows(
        target,
        Array.from({ length: 25 }, (_, i) => i),
      ).catch(() => undefined);

      // Act
      const error = await failureOf(target.settle(cutWhen, 10));

      // Assess
      expect(error.message).toMatch(/^BatchWriteItem to students failed: ValidationException/);
    });
  });

  describe('Method: drainMs', () => {
    it('tells how long the queued items take at the pace the table accepts, and 0 once flushed', async () => {
      // Prepare: every call waits until released, so 60 items stay queued (25 + 25 in flight, 10 buffered)
      const gate = deferred();
      ddbMock.on(BatchWriteCommand).callsFake(async () => {
        await gate.promise;
        return {};
      });
      const target = writer({ rate: { minRate: 20 } });
      await putAll(
        target,
        Array.from({ length: 60 }, (_, i) => record(i)),
      );

      // Act: nothing accepted yet, so the pace is the floor: 60 items at 20 items/s
      const queued = target.drainMs();
      gate.resolve();
      await target.flush();

      // Assess
      expect(queued).toBe(3_000);
      expect(target.drainMs()).toBe(0);
    });
  });

  describe('Method: sample', () => {
    it('reports the write rate, the share of calls throttled and the learned pace since the last sample', async () => {
      // Prepare: four calls go through, the fifth comes back with 20 of 25 items unprocessed
      // (slow start ends on a push-back once a few calls tell what the table accepts)
      const items = Array.from({ length: 125 }, (_, i) => record(i));
      ddbMock
        .on(BatchWriteCommand)
        .resolvesOnce({})
        .resolvesOnce({})
        .resolvesOnce({})
        .resolvesOnce({})
        .resolvesOnce({ UnprocessedItems: { [TABLE]: items.slice(105).map(putOf) } })
        .resolves({});
      const target = writer({ rate: { minRate: 10_000 } });
      target.sample();

      // Act
      await putAll(target, items);
      await target.flush();
      const first = target.sample();
      const second = target.sample();

      // Assess
      expect(first.throttledShare).toBe(0.17);
      expect(first.writeRate).toBeGreaterThan(0);
      expect(first.rateLimit).toBeGreaterThanOrEqual(10_000);
      expect(second).toMatchObject({ throttledShare: 0, writeRate: 0 });
    });
  });
});
