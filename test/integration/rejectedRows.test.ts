import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { useLocalStack } from '../support/harness.ts';
import { rowBudget, taggedCsv } from '../support/longFiles.ts';

/*
 * Issue 18: the rejected rows come back as `x/y.rejected.csv`, a file to fix and upload again.
 * The real handler against the local stack (s3rver, dynalite, local SNS).
 */

const local = useLocalStack();

async function rawText(key: string): Promise<string> {
  const out = await local.s3.send(
    new GetObjectCommand({ Bucket: local.stack.names.error, Key: key }),
  );
  return Buffer.from((await out.Body?.transformToByteArray()) ?? []).toString('utf8');
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await local.s3.send(
    new ListObjectsV2Command({ Bucket: local.stack.names.error, Prefix: prefix }),
  );
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

const BOM = '\uFEFF';

describe('Rejected rows: a file to fix and drop back in', () => {
  it('round-trips: bad rows → rejected file → fixed as a person would → loaded exactly, =1+2 included', async () => {
    // Prepare: the file's own column order, a column outside the schema, a semicolon separator.
    const source = [
      'Course;Student_ID;first_name;last_name;notes',
      'Maths;E10001;Ann;Good;n1',
      '=1+2;e10002;Bob;Bad;n2',
      'History;E10003;Cy;   ;n3',
      'Art;E10004;Di;Fine;n4',
      'Art;E10005;Too;Many;n5;extra',
    ].join('\r\n');
    const handler = local.handler();

    // Act 1: the first upload.
    await local.drive(handler, await local.upload('rt/students.csv', `${source}\r\n`), () =>
      lambdaContext(),
    );

    // Assess 1: PARTIAL, the rejected file beside the report, named in the summary and e-mail.
    const [first] = local.summariesFor('rt/students.csv');
    expect(first).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 5, written: 2, rejected: 3, duplicates: 0 },
      rejected: { bucket: local.stack.names.error, key: 'rt/students.rejected.csv' },
    });
    const [email] = local.emailsFor('rt/students.csv');
    expect(email).toContain(
      `Fix the 3 rows in s3://${local.stack.names.error}/rt/students.rejected.csv and upload it to the inbound bucket`,
    );
    // No row value in the summary or the e-mail.
    for (const value of ['=1+2', 'e10002', 'Bob', 'extra']) {
      expect(JSON.stringify(first)).not.toContain(value);
      expect(email).not.toContain(value);
    }
    const written = await rawText('rt/students.rejected.csv');
    expect(written.startsWith(BOM)).toBe(true);
    expect(written.indexOf(BOM, 1)).toBe(-1);
    const rows = parse(written, { bom: true, relax_column_count: true }) as string[][];
    expect(rows[0]).toEqual(['Course', 'Student_ID', 'first_name', 'last_name', 'notes', 'error']);
    expect(rows[1]).toEqual([
      "'=1+2",
      'e10002',
      'Bob',
      'Bad',
      'n2',
      expect.stringContaining('student_id'),
    ]);
    expect(rows[2]?.slice(0, 5)).toEqual(['History', 'E10003', 'Cy', '   ', 'n3']);
    expect(rows[2]?.[5]).toContain('last_name');
    // The row that could not be split: its raw text under the first column, with the reason.
    expect(rows[3]).toEqual([
      'Art;E10005;Too;Many;n5;extra',
      '',
      '',
      '',
      '',
      'expected 5 fields like the header, found 6',
    ]);
    expect(rows).toHaveLength(4);

    // Act 2: fixed as a person would in a spreadsheet: bad cells changed, the error column kept,
    // the guarded course left as it shows, the raw row split back into its cells.
    rows[1] = ["'=1+2", 'E10002', 'Bob', 'Bad', 'n2', rows[1]?.[5] ?? ''];
    rows[2] = ['History', 'E10003', 'Cy', 'Cole', 'n3', rows[2]?.[5] ?? ''];
    rows[3] = ['Art', 'E10005', 'Too', 'Many', 'n5', rows[3]?.[5] ?? ''];
    const edited = `${BOM}${rows.map((r) => r.map((c) => (/[",\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c)).join(',')).join('\r\n')}\r\n`;
    await local.drive(handler, await local.upload('rt/students-fixed.csv', edited), () =>
      lambdaContext(),
    );

    // Assess 2: SUCCEEDED with exactly the fixed values; `error` is neither loaded nor named.
    const [second] = local.summariesFor('rt/students-fixed.csv');
    expect(second).toMatchObject({
      status: 'SUCCEEDED',
      rows: { total: 3, written: 3, rejected: 0, duplicates: 0 },
    });
    expect(second?.rejected).toBeUndefined();
    expect(second?.csv?.columnsNotLoaded).toEqual(['notes']);
    const items = await local.items((item) =>
      ['E10002', 'E10003', 'E10005'].includes(String(item.student_id)),
    );
    const byId = Object.fromEntries(items.map((item) => [item.student_id, item]));
    expect(byId.E10002).toEqual({
      student_id: 'E10002',
      first_name: 'Bob',
      last_name: 'Bad',
      course: '=1+2',
    });
    expect(byId.E10003).toMatchObject({ last_name: 'Cole', course: 'History' });
    expect(byId.E10005).toMatchObject({ last_name: 'Many', course: 'Art' });
    expect(Object.keys(byId.E10002 ?? {})).not.toContain('error');
    expect(Object.keys(byId.E10002 ?? {})).not.toContain('notes');
  }, 120_000);

  it('rejects rows still wrong again, into a new rejected file of the file sent back', async () => {
    // Prepare: a rejected-rows file sent back with one row fixed and one still wrong.
    const body = `${BOM}student_id,first_name,last_name,course,Error\r\nE20001,Al,Ok,'@home,old reason\r\nbad,Bo,Still,'-x,old reason\r\n`;
    const handler = local.handler();

    // Act
    await local.drive(handler, await local.upload('again/rows.csv', body), () => lambdaContext());

    // Assess: the old error column is replaced, not doubled; the guard is written again.
    expect(local.summariesFor('again/rows.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: expect.objectContaining({ rejected: 1 }),
      }),
    ]);
    const rows = parse(await rawText('again/rows.rejected.csv'), { bom: true }) as string[][];
    expect(rows[0]).toEqual(['student_id', 'first_name', 'last_name', 'course', 'error']);
    expect(rows[1]?.slice(0, 4)).toEqual(['bad', 'Bo', 'Still', "'-x"]);
    expect(rows[1]?.[4]).toContain('student_id');
    const [item] = await local.items((i) => i.student_id === 'E20001');
    expect(item).toMatchObject({ course: '@home', last_name: 'Ok' });
  }, 120_000);

  it('writes the rejected rows of a long file once, across parts: one header, one BOM, pieces gone', async () => {
    // Prepare: 3,000 rows, one bad row in every 500, read over several parts.
    const handler = local.handler();
    const event = await local.upload('long/rej.csv', taggedCsv(3_000, 'rj'));

    // Act
    const parts = await local.drive(handler, event, () => rowBudget(2));

    // Assess
    expect(parts).toBeGreaterThanOrEqual(3);
    const written = await rawText('long/rej.rejected.csv');
    expect(written.startsWith(BOM)).toBe(true);
    expect(written.indexOf(BOM, 1)).toBe(-1);
    const rows = parse(written, { bom: true }) as string[][];
    expect(rows[0]).toEqual(['student_id', 'first_name', 'last_name', 'course', 'error']);
    expect(rows.slice(1).map((r) => r[0])).toEqual(
      [499, 999, 1499, 1999, 2499, 2999].map((i) => `bad-rj-${i}`),
    );
    expect(rows.slice(1).map((r) => r[1])).toEqual(
      [499, 999, 1499, 1999, 2499, 2999].map((i) => `First${i}`),
    );
    expect(local.summariesFor('long/rej.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rejected: expect.objectContaining({ key: 'long/rej.rejected.csv' }),
      }),
    ]);
    expect(await keysUnder('_ingest/rejected/')).toEqual([]);
  }, 120_000);

  it('writes a file without a header under the schema columns as its header', async () => {
    // Prepare
    const handler = local.handler();
    const body = 'E30001,Ann,Good,Maths\nE30002,Bob,,Maths\n';

    // Act
    await local.drive(handler, await local.upload('headerless/rows.csv', body), () =>
      lambdaContext(),
    );

    // Assess
    const rows = parse(await rawText('headerless/rows.rejected.csv'), { bom: true }) as string[][];
    expect(rows[0]).toEqual(['student_id', 'first_name', 'last_name', 'course', 'error']);
    expect(rows[1]?.slice(0, 4)).toEqual(['E30002', 'Bob', '', 'Maths']);
  }, 120_000);
});
