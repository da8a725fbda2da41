import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * Another dataset is a schema file, not code: the whole pipeline (real handler, local stack) run
 * with SCHEMA_FILE=schemas/grades.schema.json, whose integer, boolean, enum, date and optional
 * columns decide what is written and what is rejected, and how.
 */

// Read at cold start, like the deployed function: the harness sets it before the handler loads.
const harness = useLocalStack({ schemaFile: 'schemas/grades.schema.json' });
let raw: DynamoDBClient;

beforeAll(() => {
  raw = new DynamoDBClient({
    endpoint: harness.stack.endpoints.dynamodb,
    region: 'us-east-1',
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
});

afterAll(() => {
  raw?.destroy();
});

describe('Handler: ingest, a second dataset (grades) defined by its schema file alone', () => {
  it('writes integers as N, booleans as BOOL, leaves empty optional cells out, and says why rows fail without their values', async () => {
    // Act
    const upload = await harness.ingest('grades/term1.csv', fixture('grades.csv'));

    // Assess: the table's own types, as DynamoDB stores them
    const scan = await raw.send(new ScanCommand({ TableName: harness.names.table }));
    const items = (scan.Items ?? []).sort((a, b) =>
      `${a.student_id?.S}${a.course?.S}`.localeCompare(`${b.student_id?.S}${b.course?.S}`),
    );
    expect(items).toEqual([
      {
        student_id: { S: 'G10001' },
        course: { S: 'Math 101' },
        credits: { N: '5' },
        grade: { S: 'A' },
        passed: { BOOL: true },
        graded_on: { S: '2026-06-30' },
        comment: { S: 'Excellent work' },
      },
      {
        student_id: { S: 'G10001' },
        course: { S: 'Physics' },
        credits: { N: '3' },
        grade: { S: 'C' },
        passed: { BOOL: true },
      },
      {
        student_id: { S: 'G10002' },
        course: { S: 'Math 101' },
        credits: { N: '4' },
        grade: { S: 'F' },
        passed: { BOOL: false },
        graded_on: { S: '2026-07-01' },
        comment: { S: 'Retake, spring' },
      },
    ]);
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.status).toBe('PARTIAL');
    expect(summary.json.rows).toEqual({ total: 7, written: 3, rejected: 4, duplicates: 0 });
    expect(summary.json.errors).toEqual([
      { line: 5, field: 'credits', error: 'credits is not a whole number' },
      { line: 6, field: 'credits', error: 'credits is more than the maximum (30)' },
      {
        line: 7,
        field: 'grade',
        error: 'grade is not one of the allowed values (A, B, C, D, E, F)',
      },
      { line: 7, field: 'passed', error: 'passed is not true or false' },
      { line: 7, field: 'graded_on', error: 'graded_on is not a date (YYYY-MM-DD)' },
      { line: 8, field: 'credits', error: 'credits is empty' },
    ]);
    // The values are in the report (for the person fixing the file), not in the messages.
    const report = parse(
      (await harness.read(harness.names.error, 'grades/term1.errors.csv')) ?? '',
    ) as string[][];
    expect(report.slice(1).map(([line, field, value]) => [line, field, value])).toEqual([
      ['5', 'credits', 'abc'],
      ['6', 'credits', '40'],
      ['7', 'grade', 'Z'],
      ['7', 'passed', 'yes'],
      ['7', 'graded_on', '2026-02-30'],
      ['8', 'credits', ''],
    ]);
    for (const error of summary.json.errors) {
      for (const value of ['abc', '40', 'yes', '2026-02-30'])
        expect(error.error).not.toContain(value);
    }
  });

  it('accepts a header without an optional column and a headerless file in the schema order', async () => {
    // Act
    const a = await harness.ingest(
      'grades/short.csv',
      'passed,grade,credits,course,student_id\nfalse,E,1,Latin,G20001\n',
    );
    const b = await harness.ingest(
      'grades/headerless.csv',
      'G20002,Greek,2,B,true\nG20003,Greek,2,A,TRUE,2026-01-15,Top\n',
    );

    // Assess
    expect(harness.messagesFor(a.key)[0]?.json.status).toBe('SUCCEEDED');
    expect(harness.messagesFor(b.key)[0]?.json.status).toBe('SUCCEEDED');
    const rows = (await harness.tableRows()).filter((r) => String(r.student_id) >= 'G2');
    expect(rows).toEqual([
      { student_id: 'G20001', course: 'Latin', credits: 1, grade: 'E', passed: false },
      { student_id: 'G20002', course: 'Greek', credits: 2, grade: 'B', passed: true },
      {
        student_id: 'G20003',
        course: 'Greek',
        credits: 2,
        grade: 'A',
        passed: true,
        graded_on: '2026-01-15',
        comment: 'Top',
      },
    ]);
  });
});
