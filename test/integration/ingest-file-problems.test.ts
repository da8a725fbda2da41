import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { fixture, type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * File problems end the file: it goes to the error bucket with a report, one FAILED summary says
 * why, and the handler does not throw (bad data never makes Lambda retry).
 */

const harness = useLocalStack();

beforeEach(async () => {
  await harness.clearTable();
});

interface Rejected {
  summary: SummaryMessage;
  report: string[][];
}

/** Ingests a fixture and checks everything every rejected file must show; returns the details. */
async function ingestRejected(key: string, body: Buffer, code: string): Promise<Rejected> {
  const { archive, error, inbound } = harness.names;
  const reportKey = key.replace(/\.csv$/, '.errors.csv');

  // Act
  await expect(harness.ingest(key, body)).resolves.toBeDefined();

  // Assess: moved to the error bucket, byte for byte, and gone from inbound
  expect(await harness.whereIs(key)).toEqual([error]);
  expect(await harness.read(error, key)).toEqual(body);
  expect(await harness.read(archive, key)).toBeNull();
  expect(await harness.read(inbound, key)).toBeNull();

  // Exactly one summary, FAILED, naming the problem and where the file and report went
  const summaries = harness.messagesFor(key);
  expect(summaries).toHaveLength(1);
  const [summary] = summaries as [SummaryMessage];
  expect(summary.published.messageStructure).toBe('json');
  expect(summary.published.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
  expect(summary.published.subject).toBe(`[FAILED] ${key.split('/').pop()}: file rejected`);
  expect(summary.json.status).toBe('FAILED');
  expect(summary.json.source).toEqual({ bucket: inbound, key, sequencer: expect.any(String) });
  expect(summary.json.destination).toEqual({ bucket: error, key });
  expect(summary.json.report).toEqual({ bucket: error, key: reportKey });
  expect(summary.json.fileError?.code).toBe(code);
  expect(summary.parts.default).toContain('Status: FAILED');
  expect(summary.parts.default).toContain(
    `The file was rejected:\n  ${summary.json.fileError?.message}`,
  );
  expect(summary.parts.default).toContain(`The file is now at s3://${error}/${key}`);

  // The report names the problem in the error column
  const reportBytes = await harness.read(error, reportKey);
  expect(reportBytes).not.toBeNull();
  const report = parse(reportBytes ?? Buffer.alloc(0)) as string[][];
  expect(report[0]).toEqual(['line', 'field', 'value', 'error']);
  expect(report.at(-1)?.[3]).toBe(summary.json.fileError?.message);
  return { summary, report };
}

describe('Handler: ingest, file problems (FAILED)', () => {
  it('rejects a header that is neither the columns nor valid data, saying which columns were expected', async () => {
    // Act
    const { summary, report } = await ingestRejected(
      'problems/bad-header.csv',
      fixture('bad-header.csv'),
      'INVALID_HEADER',
    );

    // Assess
    expect(summary.json.fileError?.message).toBe(
      'The first row is neither the header "student_id,first_name,last_name,course" nor a valid record in that column order: it has 4 fields, none of them a column name, and as a record student_id has an invalid format (expected one capital letter and five digits, e.g. A10001).',
    );
    expect(summary.json.rows).toEqual({ total: 0, written: 0, rejected: 0, duplicates: 0 });
    // The row itself is shown only in the private report.
    expect(report.slice(1)).toEqual([
      ['1', '', 'id,name,surname,class', summary.json.fileError?.message],
    ]);
    expect(await harness.tableRows()).toEqual([]);
  });

  it('rejects a file that is not UTF-8 and says where the bad byte is, storing no mangled name', async () => {
    // Prepare
    const body = fixture('invalid-utf8.csv');
    const offset = body.indexOf(0xff);

    // Act
    const { summary, report } = await ingestRejected(
      'problems/invalid-utf8.csv',
      body,
      'INVALID_UTF8',
    );

    // Assess
    expect(summary.json.fileError?.message).toBe(
      `The file is not valid UTF-8: invalid byte 0xFF at line 3, byte offset ${offset}. Save it as "CSV UTF-8" and upload it again.`,
    );
    expect(report.slice(1)).toEqual([['3', '', '', summary.json.fileError?.message]]);
    const rows = await harness.tableRows();
    expect(rows.map((row) => row.student_id)).not.toContain('H80002');
    expect(rows).toHaveLength(summary.json.rows.written);
  });

  it('recognises Excel\'s Windows-1252 "CSV" and tells the person to save as "CSV UTF-8"', async () => {
    // Act
    const { summary } = await ingestRejected(
      'problems/windows-1252.csv',
      fixture('windows-1252.csv'),
      'WINDOWS_1252',
    );

    // Assess
    const offset = fixture('windows-1252.csv').indexOf(0xe9);
    expect(summary.json.fileError?.message).toBe(
      `The file is not UTF-8: byte 0xE9 at line 3, byte offset ${offset} looks like "é" in Windows-1252 (Excel's plain "CSV" format). Save it from Excel as "CSV UTF-8 (Comma delimited)" and upload it again.`,
    );
    expect(summary.parts.email).toContain('CSV UTF-8 (Comma delimited)');
    expect((await harness.tableRows()).map((row) => row.first_name)).not.toContain('Jos\uFFFD');
  });

  it('rejects an unclosed quote as malformed CSV, saying the file ends inside quotes', async () => {
    // Act
    const { summary, report } = await ingestRejected(
      'problems/unclosed-quote.csv',
      fixture('unclosed-quote.csv'),
      'MALFORMED_CSV',
    );

    // Assess
    expect(summary.json.fileError?.message).toBe(
      'Malformed CSV: a quoted field in the row starting at line 3 is never closed (the file ends inside quotes at line 4).',
    );
    expect(report.slice(1)).toEqual([['3', '', '', summary.json.fileError?.message]]);
    // Rows the parser handed over before the problem may have been written; nothing after it.
    const rows = await harness.tableRows();
    expect(rows).toHaveLength(summary.json.rows.written);
    for (const row of rows) expect(row.student_id).toBe('H90001');
    expect(summary.json.rows.rejected).toBe(0);
  });

  it('rejects an empty file', async () => {
    // Act
    const { summary, report } = await ingestRejected(
      'problems/empty.csv',
      fixture('empty.csv'),
      'EMPTY_FILE',
    );

    // Assess
    expect(summary.json.fileError?.message).toBe('The file is empty: no header and no rows.');
    expect(summary.json.rows).toEqual({ total: 0, written: 0, rejected: 0, duplicates: 0 });
    expect(report.slice(1)).toEqual([['0', '', '', 'The file is empty: no header and no rows.']]);
  });

  it('rejects a file with a header and no data rows', async () => {
    // Act
    const { summary } = await ingestRejected(
      'problems/header-only.csv',
      fixture('header-only.csv'),
      'NO_DATA_ROWS',
    );

    // Assess
    expect(summary.json.fileError?.message).toBe('The file has a header but no data rows.');
    expect(summary.json.rows.total).toBe(0);
    expect(await harness.tableRows()).toEqual([]);
  });
});
