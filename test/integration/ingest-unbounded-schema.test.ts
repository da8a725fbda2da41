import { describe, expect, it } from 'vitest';
import { type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * A schema without bounds on its number or key columns: lib-dynamodb refuses to marshal a number
 * beyond ±2^53 − 1 (its error quotes the value), DynamoDB refuses an empty or oversized key. One
 * such cell must be its row's problem (reported, without the value in the summary), not an
 * infrastructure failure that retries the file into the dead-letter queue.
 */

// Read at cold start, like the deployed function: the harness sets it before the handler loads.
const harness = useLocalStack({ schemaFile: 'test/fixtures/measurements.schema.json' });

describe('Handler: ingest, a schema without bounds on numbers and keys', () => {
  it('rejects a number DynamoDB cannot store (too large to write exactly, too close to 0) as a row problem', async () => {
    // Act
    const upload = await harness.ingest(
      'numbers/big.csv',
      'student_id,course,points,score\n' +
        'S1,Math,5,1.5\n' +
        'S2,Math,12345678901234567890,2\n' +
        'S3,Math,3,1e300\n' +
        'S4,Math,-9007199254740991,-0.25\n' +
        'S5,Math,7,1e-200\n',
    );

    // Assess
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.status).toBe('PARTIAL');
    expect(summary.json.rows).toEqual({ total: 5, written: 2, rejected: 3, duplicates: 0 });
    expect(summary.json.errors).toEqual([
      {
        line: 3,
        field: 'points',
        error: 'points is too large to store exactly (the limit is ±9007199254740991)',
      },
      {
        line: 4,
        field: 'score',
        error: 'score is too large to store exactly (the limit is ±9007199254740991)',
      },
      {
        line: 6,
        field: 'score',
        error: "score is too close to 0 to store (DynamoDB's smallest is 1e-130)",
      },
    ]);
    expect(JSON.stringify(summary.parts)).not.toMatch(/12345678901234567|1e300|1e-200/);
    expect(await harness.tableRows()).toEqual([
      { student_id: 'S1', course: 'Math', points: 5, score: 1.5 },
      { student_id: 'S4', course: 'Math', points: -9007199254740991, score: -0.25 },
    ]);
    const report = (await harness.read(harness.names.error, 'numbers/big.errors.csv'))?.toString();
    expect(report).toContain('3,points,12345678901234567890,');
    expect(report).toContain('4,score,1e300,');
  });

  it('rejects an empty key and a key too long for DynamoDB as row problems', async () => {
    // Act
    const long = 'x'.repeat(1025);
    const upload = await harness.ingest(
      'keys/unbounded.csv',
      `student_id,course,points\nK1,Math,1\n,Math,2\nK3,,3\nK4,${long},4\nK5,${'é'.repeat(512)},5\n`,
    );

    // Assess
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.rows).toEqual({ total: 5, written: 2, rejected: 3, duplicates: 0 });
    expect(summary.json.errors).toEqual([
      { line: 3, field: 'student_id', error: 'student_id is empty (it is part of the table key)' },
      { line: 4, field: 'course', error: 'course is empty (it is part of the table key)' },
      {
        line: 5,
        field: 'course',
        error: 'course is too long for the table key (at most 1024 bytes)',
      },
    ]);
    const rows = (await harness.tableRows()).filter((r) => String(r.student_id).startsWith('K'));
    expect(rows.map((r) => r.student_id)).toEqual(['K1', 'K5']);
  });
});
