import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../../src/errors.ts';
import {
  neutralise,
  REPORT_COLUMNS,
  ReportWriter,
  reportKey,
} from '../../../src/s3/ReportWriter.ts';
import type { RowError } from '../../../src/types.ts';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const location = { bucket: 'errors', key: 'term1/students.errors.csv' };

const rowError = (line: number, value: string, field = 'first_name'): RowError => ({
  line,
  field,
  value,
  error: `${field} is empty`,
  code: 'SCHEMA',
});

/** The body of the one PutObject the report was uploaded with. */
async function uploadedBody(): Promise<string> {
  const calls = s3Mock.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  const body = calls[0]?.args[0].input.Body;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  throw new Error(`unexpected body ${typeof body}`);
}

describe('Function: reportKey', () => {
  it.each([
    ['x/y.csv', 'x/y.errors.csv'],
    ['students.csv', 'students.errors.csv'],
    ['a/b/Term 1.CSV', 'a/b/Term 1.errors.csv'],
    ['term+1/résumé = a+b&c.csv', 'term+1/résumé = a+b&c.errors.csv'],
    ['no-extension', 'no-extension.errors.csv'],
    ['data.csv.txt', 'data.csv.txt.errors.csv'],
  ])('names the report of %j %j', (key, expected) => {
    // Act & Assess
    expect(reportKey(key)).toBe(expected);
  });
});

describe('Function: neutralise', () => {
  it.each([
    ['=HYPERLINK("http://example.com","x")', `'=HYPERLINK("http://example.com","x")`],
    ['+1', "'+1"],
    ['-1+2', "'-1+2"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    // A tab is a separator too: the part after it gets its own apostrophe.
    ['\t=1', "'\t'=1"],
    ['\r=1', "'\r=1"],
  ])('prefixes %j with an apostrophe', (cell, expected) => {
    // Act & Assess
    expect(neutralise(cell)).toBe(expected);
  });

  it.each([
    // A semicolon-locale Excel splits this at the `;` and runs the second half.
    ["x;=cmd|' /C calc'!A0", "'x;'=cmd|' /C calc'!A0"],
    ['Ada,+1', "'Ada,'+1"],
    ['Ada\t@SUM(A1)', "'Ada\t'@SUM(A1)"],
    ['a|-2', "'a|'-2"],
    ['x;"=1+1"', `'x;"'=1+1"`],
    ['=1;=2', "'=1;'=2"],
  ])(
    'neutralises %j, where a part after a separator starts a formula, in the cell and in that part',
    (cell, expected) => {
      // Act & Assess
      expect(neutralise(cell)).toBe(expected);
    },
  );

  it.each([
    'Jack',
    'A10001',
    '',
    'a=b',
    'Smith-Jones',
    'José',
    'Smith; Jones',
    'a, b',
    '2024-01-02',
    'expected 4 fields (student_id, first_name, last_name, course), found 3',
  ])('leaves %j alone', (cell) => {
    // Act & Assess
    expect(neutralise(cell)).toBe(cell);
  });
});

describe('Class: ReportWriter', () => {
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  });

  afterAll(() => {
    s3Mock.restore();
  });

  it('uploads nothing and returns null when no error was added', async () => {
    // Act
    const where = await new ReportWriter(s3, location).close();

    // Assess
    expect(where).toBeNull();
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('uploads a line,field,value,error CSV with every error and neutralised cells', async () => {
    // Prepare
    const writer = new ReportWriter(s3, location);

    // Act
    for (const error of [
      rowError(2, '=HYPERLINK("http://example.com","click")'),
      rowError(3, '+1'),
      rowError(4, '@SUM(A1:A9)'),
      rowError(5, 'Zoë, "quoted"\nnext line'),
      {
        ...rowError(6, ''),
        field: '',
        error: '=not a formula either',
        code: 'FIELD_COUNT' as const,
      },
    ]) {
      const wait = writer.add(error);
      if (wait) await wait;
    }
    const where = await writer.close();

    // Assess
    expect(where).toEqual(location);
    const input = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({
      Bucket: 'errors',
      Key: 'term1/students.errors.csv',
      ContentType: 'text/csv; charset=utf-8',
    });
    const rows = parse(await uploadedBody()) as string[][];
    expect(rows).toEqual([
      [...REPORT_COLUMNS],
      ['2', 'first_name', `'=HYPERLINK("http://example.com","click")`, 'first_name is empty'],
      ['3', 'first_name', "'+1", 'first_name is empty'],
      ['4', 'first_name', "'@SUM(A1:A9)", 'first_name is empty'],
      ['5', 'first_name', 'Zoë, "quoted"\nnext line', 'first_name is empty'],
      ['6', '', '', "'=not a formula either"],
    ]);
    expect(REPORT_COLUMNS).toEqual(['line', 'field', 'value', 'error']);
  });

  it('keeps only the first few errors in memory but counts and reports them all', async () => {
    // Prepare
    const writer = new ReportWriter(s3, location, 3);

    // Act
    for (let line = 2; line < 52; line++) writer.add(rowError(line, ''));
    await writer.close();

    // Assess
    expect(writer.count).toBe(50);
    expect(writer.first.map((e) => e.line)).toEqual([2, 3, 4]);
    expect(parse(await uploadedBody())).toHaveLength(51);
  });

  it('keeps the first errors without their values: those go only into the report', async () => {
    // Prepare
    const writer = new ReportWriter(s3, location);

    // Act
    writer.add(rowError(2, 'Zyxwvutsrq'));
    await writer.close();

    // Assess
    expect(writer.first).toEqual([
      { line: 2, field: 'first_name', error: 'first_name is empty', code: 'SCHEMA' },
    ]);
    expect(await uploadedBody()).toContain('Zyxwvutsrq');
  });

  it('cuts a huge value to 1,000 characters, saying how long it was', async () => {
    // Prepare
    const writer = new ReportWriter(s3, location);

    // Act
    writer.add(rowError(2, 'x'.repeat(5_000)));
    await writer.close();

    // Assess
    const [, row] = parse(await uploadedBody()) as string[][];
    expect(row?.[2]?.length).toBeLessThanOrEqual(1_000);
    expect(row?.[2]).toMatch(/^x+… \[cut: 5000 characters\]$/);
  });

  it('throws an InfrastructureError with the cause when the upload fails', async () => {
    // Prepare
    const cause = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    s3Mock.on(PutObjectCommand).rejects(cause);
    const writer = new ReportWriter(s3, location);
    writer.add(rowError(2, ''));

    // Act
    const error = await writer.close().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toContain('s3://errors/term1/students.errors.csv');
    expect((error as InfrastructureError).cause).toBe(cause);
  });
});
