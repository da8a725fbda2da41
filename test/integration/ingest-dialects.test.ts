import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixture, IngestStack, type Summary } from '../support/ingestStack.ts';

/*
 * Files as people make them (Excel leftovers, other separators, extra columns, other encodings,
 * compressed), through the real middy handler against the local stack.
 */

let harness: IngestStack;

beforeAll(async () => {
  harness = await IngestStack.start();
});

afterAll(async () => {
  await harness?.stop();
});

beforeEach(async () => {
  await harness.clearTable();
});

function onlySummary(key: string): Summary {
  const summaries = harness.summariesFor(key);
  expect(summaries).toHaveLength(1);
  return summaries[0] as Summary;
}

async function reportRows(key: string): Promise<string[][]> {
  const bytes = await harness.read(harness.names.error, key);
  if (!bytes) throw new Error(`no report at ${key}`);
  return parse(bytes) as string[][];
}

describe('Handler: ingest, Excel leftovers', () => {
  it('ignores empty header cells and their columns, and skips all-empty rows like empty lines', async () => {
    // Prepare
    const body = fixture('excel-leftovers.csv');

    // Act
    const upload = await harness.ingest('excel/leftovers.csv', body);

    // Assess
    expect(await harness.tableRows()).toEqual([
      { student_id: 'E10001', first_name: 'Ada', last_name: 'Lovelace', course: 'Math 101' },
      {
        student_id: 'E10002',
        first_name: 'Alan',
        last_name: 'Turing',
        course: 'Logic, Advanced',
      },
      { student_id: 'E10003', first_name: 'Grace', last_name: 'Hopper', course: 'Compilers' },
    ]);
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json.rows).toEqual({ total: 3, written: 3, rejected: 0, duplicates: 0 });
    expect(summary.json.fileError).toBeUndefined();
    expect(await harness.whereIs(upload.key)).toEqual([harness.names.archive]);
  });

  it("reports a bad row after Excel's empty rows at the file's own line number", async () => {
    // Prepare: lines 2 and 4 are empty records, line 3 a blank one; line 5 lacks a last name
    const body = [
      'student_id,first_name,last_name,course,',
      ',,,,',
      ' ,  ,,,',
      '',
      'E10011,Ada,,Math 101,',
      'E10012,Alan,Turing,Logic',
      ',,,,',
    ].join('\r\n');

    // Act
    const upload = await harness.ingest('excel/bad-row.csv', body);

    // Assess
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('PARTIAL');
    expect(summary.json.rows).toEqual({ total: 2, written: 1, rejected: 1, duplicates: 0 });
    expect(summary.json.errors).toEqual([
      { line: 5, field: 'last_name', error: 'last_name is empty' },
    ]);
    expect((await reportRows('excel/bad-row.errors.csv')).slice(1)).toEqual([
      ['5', 'last_name', '', 'last_name is empty'],
    ]);
    expect((await harness.tableRows()).map((row) => row.student_id)).toEqual(['E10012']);
  });
});
