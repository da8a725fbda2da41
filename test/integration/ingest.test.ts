import { CopyObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import type { StudentRecord } from '../../src/types.ts';
import {
  fixture,
  type SummaryMessage,
  sampleEvent,
  type Upload,
  useLocalStack,
} from '../support/harness.ts';

/*
 * The real middy handler against the local stack (s3rver, dynalite, local SNS): dynalite enforces
 * BatchWriteItem's 25-item and no-repeated-key rules, so a pipeline that broke either would fail.
 */

const harness = useLocalStack();

beforeEach(async () => {
  await harness.clearTable();
});

const HEADER = ['student_id', 'first_name', 'last_name', 'course'];

/** The table a file should produce: its data rows, the last one per key. Parsed independently. */
function expectedTable(name: string, { headerless = false } = {}): StudentRecord[] {
  const records = parse(fixture(name), {
    bom: true,
    columns: HEADER,
    from_line: headerless ? 1 : 2,
    skip_empty_lines: true,
  }) as StudentRecord[];
  const byKey = new Map<string, StudentRecord>();
  for (const r of records) byKey.set(`${r.student_id}\u0000${r.course}`, { ...r });
  return [...byKey.values()].sort(
    (a, b) =>
      String(a.student_id ?? '').localeCompare(String(b.student_id ?? '')) ||
      String(a.course ?? '').localeCompare(String(b.course ?? '')),
  );
}

/** The one summary of a file, checked against what SNS and its subscribers require. */
function onlySummary(key: string): SummaryMessage {
  const summaries = harness.messagesFor(key);
  expect(summaries).toHaveLength(1);
  const [summary] = summaries as [SummaryMessage];
  expect(summary.published.topicArn).toBe(harness.stack.topicArn);
  expect(summary.published.messageStructure).toBe('json');
  expect(summary.published.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
  for (const part of ['default', 'email', 'sqs', 'lambda', 'http', 'https']) {
    expect(typeof summary.parts[part]).toBe('string');
  }
  expect(summary.parts.lambda).toBe(summary.parts.sqs);
  expect(summary.parts.http).toBe(summary.parts.sqs);
  return summary;
}

/** The file left inbound only once its exact copy was in place. */
async function expectMoved(upload: Upload, bucket: string, body: Buffer): Promise<void> {
  expect(await harness.whereIs(upload.key)).toEqual([bucket]);
  expect(await harness.read(bucket, upload.key)).toEqual(body);
}

describe('Handler: ingest, SUCCEEDED', () => {
  it('loads every row, archives the file under the same key and publishes one summary', async () => {
    // Prepare
    const body = fixture('valid.csv');
    const { archive, error, inbound } = harness.names;

    // Act
    const upload = await harness.ingest('term1/valid.csv', body);

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'A10001',
        first_name: 'Jack',
        last_name: 'Reacher',
        course: 'Advanced Physical Security',
      },
      {
        student_id: 'A10002',
        first_name: 'Ada',
        last_name: 'Lovelace',
        course: 'Analytical Engines',
      },
      {
        student_id: 'A10003',
        first_name: 'José',
        last_name: 'Núñez',
        course: 'Databases, Advanced',
      },
      {
        student_id: 'A10004',
        first_name: 'Zoë',
        last_name: 'Ødegård',
        course: 'Poetry "Modern" and Old',
      },
      { student_id: 'A10005', first_name: '小明', last_name: '王', course: 'Mandarin' },
    ]);
    await expectMoved(upload, archive, body);
    expect(await harness.read(error, 'term1/valid.errors.csv')).toBeNull();
    const summary = onlySummary('term1/valid.csv');
    expect(summary.published.subject).toBe('[SUCCEEDED] valid.csv: 5 rows loaded');
    expect(summary.json).toEqual({
      status: 'SUCCEEDED',
      // s3rver has no versioning: the upload is named by its event's sequencer, no version ids.
      source: { bucket: inbound, key: 'term1/valid.csv', sequencer: expect.any(String) },
      destination: { bucket: archive, key: 'term1/valid.csv' },
      rows: { total: 5, written: 5, rejected: 0, duplicates: 0 },
      errors: [],
      durationMs: expect.any(Number),
      writes: { calls: 1, throttled: 0, rejected: 0, rowsPerSecond: expect.any(Number) },
    });
    expect(summary.parts.default).toContain('Status: SUCCEEDED');
    expect(summary.parts.default).toContain(`The file is now at s3://${archive}/term1/valid.csv`);
  });

  it('loads a file without a header in the schema column order', async () => {
    // Act
    const upload = await harness.ingest('headerless.csv', fixture('headerless.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual(
      expectedTable('headerless.csv', { headerless: true }),
    );
    expect((await harness.tableRows())[0]).toEqual({
      student_id: 'A10001',
      first_name: 'Jack',
      last_name: 'Reacher',
      course: 'Advanced Physical Security',
    });
    await expectMoved(upload, harness.names.archive, fixture('headerless.csv'));
    expect(onlySummary('headerless.csv').json.rows).toEqual({
      total: 3,
      written: 3,
      rejected: 0,
      duplicates: 0,
    });
  });

  it('maps a header in another order, whatever its case and spaces', async () => {
    // Act
    await harness.ingest('header-reordered.csv', fixture('header-reordered.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual([
      { student_id: 'B20001', first_name: 'Grace', last_name: 'Hopper', course: 'Compilers' },
      { student_id: 'B20002', first_name: 'Alan', last_name: 'Turing', course: 'Computability' },
    ]);
    expect(onlySummary('header-reordered.csv').json.status).toBe('SUCCEEDED');
  });

  it('reads a UTF-8 BOM and CRLF line endings without a trace in the data', async () => {
    // Act
    await harness.ingest('bom-crlf.csv', fixture('bom-crlf.csv'));

    // Assess
    const rows = await harness.tableRows();
    expect(rows).toEqual([
      {
        student_id: 'C30001',
        first_name: 'Ada',
        last_name: 'Lovelace',
        course: 'Analytical Engines',
      },
      {
        student_id: 'C30002',
        first_name: 'José',
        last_name: 'Núñez',
        course: 'Databases, Advanced',
      },
      { student_id: 'C30004', first_name: 'Alan', last_name: 'Turing', course: 'Computability' },
    ]);
    expect(onlySummary('bom-crlf.csv').json.rows.total).toBe(3);
  });

  it('keeps quoted commas, doubled quotes and line breaks exactly', async () => {
    // Act
    await harness.ingest('quoting.csv', fixture('quoting.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'D40001',
        first_name: 'Reacher, Jack',
        last_name: 'O"Brien',
        course: 'Security, Advanced',
      },
      {
        student_id: 'D40002',
        first_name: 'Ada',
        last_name: 'Love\nlace',
        course: 'Line one\r\nLine two',
      },
      { student_id: 'D40003', first_name: 'Grace', last_name: 'Hopper', course: 'He said "hi"' },
    ]);
    expect(onlySummary('quoting.csv').json.status).toBe('SUCCEEDED');
  });

  it('writes more than 25 rows in several batches', async () => {
    // Act
    await harness.ingest('many-rows.csv', fixture('many-rows.csv'));

    // Assess
    const rows = await harness.tableRows();
    expect(rows).toHaveLength(80);
    expect(rows).toEqual(expectedTable('many-rows.csv'));
    expect(onlySummary('many-rows.csv').json.rows).toEqual({
      total: 80,
      written: 80,
      rejected: 0,
      duplicates: 0,
    });
  });
});

describe('Handler: ingest, PARTIAL', () => {
  it('loads the valid rows, reports each rejected row with its line, field and reason, and moves the file to the error bucket', async () => {
    // Prepare
    const key = 'reports/term 2/invalid-rows.csv';
    const reportKey = 'reports/term 2/invalid-rows.errors.csv';
    const body = fixture('invalid-rows.csv');
    const { error, inbound } = harness.names;
    const fieldCount = 'expected 4 fields (student_id, first_name, last_name, course), found';

    // Act
    const upload = await harness.ingest(key, body);

    // Assess
    expect(await harness.tableRows()).toEqual([
      { student_id: 'E50001', first_name: 'Jack', last_name: 'Reacher', course: 'Security' },
      { student_id: 'E50008', first_name: 'Multi\nline', last_name: 'Name', course: 'Security' },
      { student_id: 'E50010', first_name: 'Ok', last_name: 'Row', course: 'Security' },
    ]);
    await expectMoved(upload, error, body);
    expect(await harness.reportRows(reportKey)).toEqual([
      ['line', 'field', 'value', 'error'],
      [
        '3',
        'student_id',
        'e50002',
        'student_id has an invalid format (expected one capital letter and five digits, e.g. A10001)',
      ],
      ['4', 'first_name', '', 'first_name is empty'],
      ['5', '', 'E50004,Too,Many,Fields,Extra', `${fieldCount} 5`],
      ['6', '', 'E50005,Too,Few', `${fieldCount} 3`],
      ['11', 'course', 'x'.repeat(201), 'course is too long (at most 200 characters)'],
    ]);
    const summary = onlySummary(key);
    expect(summary.published.subject).toBe('[PARTIAL] invalid-rows.csv: 3 loaded, 5 rejected');
    expect(summary.json).toEqual({
      status: 'PARTIAL',
      source: { bucket: inbound, key, sequencer: expect.any(String) },
      destination: { bucket: error, key },
      rows: { total: 8, written: 3, rejected: 5, duplicates: 0 },
      report: { bucket: error, key: reportKey },
      rejected: { bucket: error, key: reportKey.replace(/\.errors\.csv$/, '.rejected.csv') },
      errors: [
        {
          line: 3,
          field: 'student_id',
          error:
            'student_id has an invalid format (expected one capital letter and five digits, e.g. A10001)',
        },
        { line: 4, field: 'first_name', error: 'first_name is empty' },
        { line: 5, field: '', error: `${fieldCount} 5` },
        { line: 6, field: '', error: `${fieldCount} 3` },
        { line: 11, field: 'course', error: 'course is too long (at most 200 characters)' },
      ],
      durationMs: expect.any(Number),
      writes: { calls: 1, throttled: 0, rejected: 0, rowsPerSecond: expect.any(Number) },
    });
    expect(summary.parts.default).toContain('line 4: first_name is empty');
    expect(summary.parts.default).toContain(
      `Every rejected row is listed in s3://${error}/${reportKey}`,
    );
  });

  it('neutralises cells a spreadsheet would run as formulas in the report', async () => {
    // Act
    await harness.ingest('formula-injection.csv', fixture('formula-injection.csv'));

    // Assess
    const report = await harness.reportRows('formula-injection.errors.csv');
    expect(report.slice(1).map(([line, field, value]) => [line, field, value])).toEqual([
      ['3', 'student_id', `'=HYPERLINK("http://example.com/x","click")`],
      ['4', 'student_id', "'+1"],
      ['5', 'student_id', "'@SUM(A1:A2)"],
      ['6', 'student_id', "'-1"],
    ]);
    // The table keeps the data as written: neutralising is for the spreadsheet report only.
    expect(await harness.tableRows()).toEqual([
      { student_id: 'F60001', first_name: 'Safe', last_name: 'Row', course: '=1+1' },
    ]);
    expect(onlySummary('formula-injection.csv').json.rows).toEqual({
      total: 5,
      written: 1,
      rejected: 4,
      duplicates: 0,
    });
  });
});

describe('Handler: ingest, duplicate keys', () => {
  it('keeps the last row per student and course, across batches and inside one, and counts the repeats', async () => {
    // Act: dynalite rejects a BatchWriteItem with a repeated key, so a missed repeat would throw
    await harness.ingest('duplicates.csv', fixture('duplicates.csv'));

    // Assess
    const rows = await harness.tableRows();
    expect(rows).toEqual(expectedTable('duplicates.csv'));
    const find = (id: string, course: string) =>
      rows.find((row) => row.student_id === id && row.course === course)?.last_name;
    expect(find('G70001', 'Maths')).toBe('New'); // repeated 28 rows later, in another batch
    expect(find('G70100', 'Physics')).toBe('Batch2'); // repeated on the next line, same batch
    expect(find('G70200', 'Art')).toBe('Times3'); // three times
    expect(find('G70001', 'Physics')).toBe('New'); // same student, other course: not a repeat
    const summary = onlySummary('duplicates.csv');
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json.rows).toEqual({ total: 62, written: 58, rejected: 0, duplicates: 4 });
    expect(rows).toHaveLength(58);
    expect(summary.parts.default).toContain(
      'Duplicate keys: 4 (the last row for each student and course was kept)',
    );
  });
});

describe('Handler: ingest, object keys', () => {
  it('replays events/s3-put-encoded-key.json: decodes + as space and percent-escapes before touching S3', async () => {
    // Prepare: the object as uploaded, under the key the sample event encodes
    const key = 'term 1/résumé = a+b&c.csv';
    const body = fixture('valid.csv');
    const upload = await harness.put(key, body);
    const event = sampleEvent('s3-put-encoded-key.json');
    const record = event.Records[0];
    if (!record) throw new Error('sample event has no record');
    expect(record.s3.object.key).toBe('term+1/r%C3%A9sum%C3%A9+%3D+a%2Bb%26c.csv');
    record.s3.bucket.name = harness.names.inbound;
    record.s3.object.size = upload.size;
    record.s3.object.eTag = upload.eTag;

    // Act
    await harness.invoke(event);

    // Assess
    await expectMoved(upload, harness.names.archive, body);
    expect(await harness.tableRows()).toHaveLength(5);
    const summary = onlySummary(key);
    expect(summary.json.source.key).toBe(key);
    expect(summary.json.destination).toEqual({ bucket: harness.names.archive, key });
  });

  it('replays events/s3-put.json with the bucket and key rewritten', async () => {
    // Prepare
    const body = fixture('headerless.csv');
    const upload = await harness.put('students.csv', body);
    const event = sampleEvent('s3-put.json');
    const record = event.Records[0];
    if (!record) throw new Error('sample event has no record');
    record.s3.bucket.name = harness.names.inbound;
    Object.assign(record.s3.object, { size: upload.size, eTag: upload.eTag });

    // Act
    await harness.invoke(event);

    // Assess
    await expectMoved(upload, harness.names.archive, body);
    expect(onlySummary('students.csv').json.rows.written).toBe(3);
  });

  it.each([
    'folder/sub folder/with spaces.csv',
    'plus+signs/a+b=c&d.csv',
    'literal%20percent/100% sure.csv',
    'ünïcödé/名前 Ødegård.csv',
  ])('moves the file and writes its report under the decoded key %j', async (key) => {
    // Prepare
    const body = fixture('invalid-rows.csv');
    const reportKey = key.replace(/\.csv$/, '.errors.csv');

    // Act
    const upload = await harness.ingest(key, body);

    // Assess
    await expectMoved(upload, harness.names.error, body);
    expect((await harness.reportRows(reportKey)).length).toBe(6);
    const summary = onlySummary(key);
    expect(summary.json.report).toEqual({ bucket: harness.names.error, key: reportKey });
    expect(summary.published.subject).toMatch(/: 3 loaded, 5 rejected$/);
  });

  it('keeps the Subject valid for a key with line breaks and non-ASCII letters', async () => {
    // Prepare
    const key = `odd/Zoë\nNúñez\r\t${'名'.repeat(60)}.csv`;

    // Act
    await harness.ingest(key, fixture('valid.csv'));

    // Assess: the local SNS refuses a Subject real SNS would refuse, so publishing proves it too
    const summary = onlySummary(key);
    expect(summary.published.subject).toMatch(/^\[SUCCEEDED\] Zoe\?Nunez\?\?.*: 5 rows loaded$/);
    expect(summary.published.subject?.length).toBeLessThan(100);
  });
});

describe('Handler: ingest, events that need no work', () => {
  it('ignores a key that does not end in .csv: no summary, the object stays where it is', async () => {
    // Prepare
    const upload = await harness.put('notes/readme.txt', 'A10001,Jack,Reacher,Security\n');

    // Act
    await expect(harness.invoke(harness.eventFor(upload))).resolves.toBeUndefined();

    // Assess
    expect(await harness.whereIs(upload.key)).toEqual([harness.names.inbound]);
    expect(harness.summariesFor(upload.key)).toEqual([]);
    expect(await harness.tableRows()).toEqual([]);
  });

  it('treats an event for an object that no longer exists as a no-op: no summary, no error', async () => {
    // Prepare
    const gone: Upload = { key: 'gone/never-uploaded.csv', size: 10, eTag: 'abc' };

    // Act
    await expect(harness.invoke(harness.eventFor(gone))).resolves.toBeUndefined();

    // Assess
    expect(await harness.whereIs(gone.key)).toEqual([]);
    expect(harness.summariesFor(gone.key)).toEqual([]);
  });

  it('does nothing more for a file already processed and moved: redelivery or a late second event', async () => {
    // Prepare
    const body = fixture('valid.csv');
    const upload = await harness.put('again/valid.csv', body);
    const event = harness.eventFor(upload);
    await harness.invoke(event);
    const before = await harness.tableRows();

    // Act: the same event again (at-least-once delivery), and an event with another sequencer
    await expect(harness.invoke(event)).resolves.toBeUndefined();
    await expect(harness.invoke(harness.eventFor(upload))).resolves.toBeUndefined();

    // Assess
    await expectMoved(upload, harness.names.archive, body);
    expect(onlySummary('again/valid.csv').json.status).toBe('SUCCEEDED');
    expect(await harness.tableRows()).toEqual(before);
  });

  it.each(['archive', 'error'] as const)(
    'ignores an event from the %s bucket (its own output) instead of looping',
    async (which) => {
      // Prepare
      const bucket = harness.names[which];
      const body = fixture('valid.csv');
      const upload = await harness.put(`own-output/${which}.csv`, body, bucket);

      // Act
      await expect(harness.invoke(harness.eventFor(upload, bucket))).resolves.toBeUndefined();

      // Assess
      expect(await harness.whereIs(upload.key)).toEqual([bucket]);
      expect(await harness.read(bucket, upload.key)).toEqual(body);
      expect(harness.summariesFor(upload.key)).toEqual([]);
      expect(await harness.tableRows()).toEqual([]);
    },
  );

  it('ignores a record that is not ObjectCreated', async () => {
    // Prepare
    const upload = await harness.put('removed/valid.csv', fixture('valid.csv'));
    const event = harness.eventFor(upload);
    for (const record of event.Records) record.eventName = 'ObjectRemoved:Delete';

    // Act
    await harness.invoke(event);

    // Assess
    expect(await harness.whereIs(upload.key)).toEqual([harness.names.inbound]);
    expect(harness.summariesFor(upload.key)).toEqual([]);
  });
});

describe('Handler: ingest, events with several records', () => {
  it('processes every record and publishes one summary per file', async () => {
    // Prepare
    const good = await harness.put('multi/good.csv', fixture('header-reordered.csv'));
    const bad = await harness.put('multi/bad.csv', fixture('bad-header.csv'));
    const event: S3Event = {
      Records: [...harness.eventFor(good).Records, ...harness.eventFor(bad).Records],
    };

    // Act
    await harness.invoke(event);

    // Assess
    expect(onlySummary('multi/good.csv').json.status).toBe('SUCCEEDED');
    expect(onlySummary('multi/bad.csv').json.status).toBe('FAILED');
    expect(await harness.whereIs(good.key)).toEqual([harness.names.archive]);
    expect(await harness.whereIs(bad.key)).toEqual([harness.names.error]);
  });
});

describe('Handler: ingest, moving the file', () => {
  /** Throws to fail the call, or edits its output; `output` is null before the call is sent. */
  type Fault = (output: Record<string, unknown> | null) => void;

  /** The real handler around its own clients, so a fault injected here stays in one test. */
  function handlerWithFault(
    commandName: 'CopyObjectCommand' | 'HeadObjectCommand',
    when: 'before' | 'after',
    fault: Fault,
  ) {
    const state = { active: true, hits: 0 };
    const handler = harness.handler({
      tweak: (clients) =>
        clients.s3.middlewareStack.add(
          (next, context) => async (args) => {
            const faulty = state.active && context.commandName === commandName;
            if (faulty) state.hits++;
            if (faulty && when === 'before') fault(null);
            const result = await next(args);
            if (faulty && when === 'after')
              fault(result.output as unknown as Record<string, unknown>);
            return result;
          },
          { step: 'initialize', name: `fault${commandName}` },
        ),
    });
    return { handler, state };
  }

  it('keeps the file in inbound when the copy fails, and finishes on redelivery', async () => {
    // Prepare
    const body = fixture('valid.csv');
    const upload = await harness.put('move/copy-fails.csv', body);
    const event = harness.eventFor(upload);
    const { handler, state } = handlerWithFault('CopyObjectCommand', 'before', () => {
      throw Object.assign(new Error('Injected CopyObject failure'), {
        name: 'InternalError',
        $metadata: { httpStatusCode: 500 },
      });
    });

    // Act
    const failure = await handler(structuredClone(event), lambdaContext()).catch((e: unknown) => e);

    // Assess: thrown so Lambda retries; nothing moved, nothing published
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect(state.hits).toBe(1);
    expect(await harness.whereIs(upload.key)).toEqual([harness.names.inbound]);
    expect(harness.summariesFor(upload.key)).toEqual([]);

    // Act: Lambda's retry, with S3 healthy again
    state.active = false;
    await handler(structuredClone(event), lambdaContext());

    // Assess
    await expectMoved(upload, harness.names.archive, body);
    expect(onlySummary(upload.key).json.rows).toEqual({
      total: 5,
      written: 5,
      rejected: 0,
      duplicates: 0,
    });
    expect(await harness.tableRows()).toEqual(expectedTable('valid.csv'));
  });

  it('does not delete the source when the copy cannot be verified (wrong size)', async () => {
    // Prepare
    const body = fixture('valid.csv');
    const upload = await harness.put('move/copy-short.csv', body);
    const { handler, state } = handlerWithFault('HeadObjectCommand', 'after', (output) => {
      if (output) output.ContentLength = Number(output.ContentLength) - 1;
    });

    // Act
    const failure = await handler(harness.eventFor(upload), lambdaContext()).catch(
      (e: unknown) => e,
    );

    // Assess
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect((failure as Error).message).toContain('source kept');
    expect(state.hits).toBeGreaterThan(0);
    expect(await harness.read(harness.names.inbound, upload.key)).toEqual(body);
    expect(harness.summariesFor(upload.key)).toEqual([]);
  });

  it('copies with a source header that survives = + & and spaces in the key', async () => {
    // Prepare: s3rver decodes x-amz-copy-source with decodeURI; the stack patches that
    const key = 'move/a+b=c&d e.csv';
    const upload = await harness.put(key, 'x');

    // Act
    await harness.s3.send(
      new CopyObjectCommand({
        Bucket: harness.names.archive,
        Key: key,
        CopySource: `${harness.names.inbound}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
      }),
    );

    // Assess
    const head = await harness.s3.send(
      new HeadObjectCommand({ Bucket: harness.names.archive, Key: upload.key }),
    );
    expect(head.ContentLength).toBe(1);
  });
});
