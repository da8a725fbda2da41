import { mkdtempSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import batchEvent from '../../events/batch-ops-2.0.json' with { type: 'json' };
import type { BatchEvent } from '../../src/batch/types.ts';
import { encodeEventKey } from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { logger } from '../../src/observability.ts';
import { captureIo } from '../support/captureIo.ts';
import { useLocalStack } from '../support/harness.ts';

/*
 * Two datasets of one deployment side by side, through the real handler: schemas/datasets.json
 * sends students/… to the student schema and table (a string + string key) and grades/… to the
 * grades schema and table (integer, boolean and optional columns), courses/… to the course schema
 * and table (a string + number key).
 */
// Log lines are asserted on: INFO and above, set before the logger is created (at import).
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});
const local = useLocalStack({ datasetsFile: 'schemas/datasets.json' });

describe('Handler: ingest, several datasets in one stack', () => {
  it('loads each file with the schema and into the table its prefix picks, and names the dataset', async () => {
    // Prepare
    const handler = local.handler();
    const enrolments = 'student_id,first_name,last_name,course\nA10001,Ada,Lovelace,Math 101\n';
    const grades = 'student_id,course,credits,grade,passed\nG10001,Math 101,5,A,true\n';

    // Act
    await local.drive(handler, await local.upload('students/term1.csv', enrolments), lambdaContext);
    await local.drive(handler, await local.upload('grades/term1.csv', grades), lambdaContext);

    // Assess
    expect(await local.scan('students')).toEqual([
      { student_id: 'A10001', first_name: 'Ada', last_name: 'Lovelace', course: 'Math 101' },
    ]);
    expect(await local.scan('grades')).toEqual([
      { student_id: 'G10001', course: 'Math 101', credits: 5, grade: 'A', passed: true },
    ]);
    const [studentSummary] = local.summariesFor('students/term1.csv');
    const [gradeSummary] = local.summariesFor('grades/term1.csv');
    expect(studentSummary).toMatchObject({ status: 'SUCCEEDED', dataset: 'students' });
    expect(gradeSummary).toMatchObject({ status: 'SUCCEEDED', dataset: 'grades' });
    expect(local.emailsFor('grades/term1.csv')[0]).toContain('Dataset: grades');
    expect(local.stack.summaries.map((m) => m.subject)).toContain(
      '[SUCCEEDED] term1.csv (grades): 1 rows loaded',
    );
  });

  it('sends a key under no prefix to the default dataset (students)', async () => {
    // Act
    await local.drive(
      local.handler(),
      await local.upload(
        'term2.csv',
        'student_id,first_name,last_name,course\nB20002,Alan,Turing,Logic\n',
      ),
      lambdaContext,
    );

    // Assess
    expect(local.summariesFor('term2.csv')[0]).toMatchObject({
      status: 'SUCCEEDED',
      dataset: 'students',
    });
    expect((await local.scan('students')).map((item) => item.student_id)).toContain('B20002');
  });
});

/** Every line the Powertools logger writes in this file; the level is read when it is created. */
const written: string[] = [];

beforeAll(() => {
  // The logger writes INFO to process.stdout, WARN and ERROR to process.stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

/** The JSON lines the logger writes while `act` runs. */
async function logLines(act: () => Promise<unknown>): Promise<Record<string, unknown>[]> {
  written.length = 0;
  await act();
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('Handler: ingest, a key and a string + number key', () => {
  it('loads courses/… into the courses table beside the students, the year a number in the key', async () => {
    // Prepare
    const handler = local.handler();
    const courses =
      'code,year,title,credits\nMATH101,2026,Calculus I,5\nMATH101,2027,Calculus I,5\n';
    const enrolments = 'student_id,first_name,last_name,course\nC30003,Grace,Hopper,MATH101\n';

    // Act
    await local.drive(handler, await local.upload('courses/2026.csv', courses), lambdaContext);
    await local.drive(handler, await local.upload('students/2026.csv', enrolments), lambdaContext);

    // Assess: two items of one code, told apart by the number in their key
    const items = await local.scan('courses');
    expect(items.sort((a, b) => Number(a.year) - Number(b.year))).toEqual([
      { code: 'MATH101', year: 2026, title: 'Calculus I', credits: 5 },
      { code: 'MATH101', year: 2027, title: 'Calculus I', credits: 5 },
    ]);
    expect((await local.scan('students')).map((item) => item.student_id)).toContain('C30003');
    expect((await local.scan('students')).map((item) => item.student_id)).not.toContain('MATH101');
    expect(local.summariesFor('courses/2026.csv')[0]).toMatchObject({
      status: 'SUCCEEDED',
      dataset: 'courses',
      rows: { total: 2, written: 2, rejected: 0, duplicates: 0 },
    });
  });

  it('names the dataset on every log line about an object, and on no line about the next one', async () => {
    // Prepare
    const handler = local.handler();
    const grades = await local.upload(
      'grades/logs.csv',
      'student_id,course,credits,grade,passed\nL10001,Logic,5,A,true\n',
    );
    // The grades file, then in the same event a record for no object to load
    const [record] = grades.Records;
    if (!record) throw new Error('no record');
    grades.Records.push({ ...structuredClone(record), eventName: 'ObjectRemoved:Delete' });

    // Act
    const lines = await logLines(() => local.drive(handler, grades, lambdaContext));

    // Assess
    const processed = lines.find((line) => line.message === 'Object processed');
    expect(processed).toMatchObject({
      dataset: 'grades',
      key: 'grades/logs.csv',
      status: 'SUCCEEDED',
    });
    const after = lines.find((line) => line.message === 'Event ignored');
    expect(after).toBeDefined();
    expect(after).not.toHaveProperty('dataset');
    expect(logger.getPersistentLogAttributes()).not.toHaveProperty('dataset');
  });

  it('skips a key under no prefix with NO_DATASET when no dataset is the default: file left alone, nothing written', async () => {
    // Prepare: the same stack, read with a declaration that has no default
    const dir = mkdtempSync(join(tmpdir(), 'datasets-'));
    const declaration = join(dir, 'datasets.json');
    writeFileSync(
      declaration,
      JSON.stringify({
        datasets: [
          { name: 'students', prefix: 'students/', schema: 'schemas/student.schema.json' },
          { name: 'grades', prefix: 'grades/', schema: 'schemas/grades.schema.json' },
        ],
      }),
    );
    const handler = local.handler({
      env: {
        DATASETS_FILE: declaration,
        DATASET_TABLES: JSON.stringify({ students: 'students', grades: 'grades' }),
      },
    });
    const event = await local.upload(
      'loose/term.csv',
      'student_id,first_name,last_name,course\nN40004,No,Dataset,Nowhere\n',
    );

    try {
      // Act
      const lines = await logLines(async () => {
        await local.drive(handler, event, lambdaContext);
      });

      // Assess: a clear reason, and the file untouched
      expect(lines.find((line) => line.message === 'Object skipped')).toMatchObject({
        reason: 'NO_DATASET',
        detail:
          "loose/term.csv is under no dataset's prefix (students/, grades/) and no default dataset is declared",
      });
      expect(await local.exists(local.stack.names.inbound, 'loose/term.csv')).toBe(true);
      expect(await local.exists(local.stack.names.archive, 'loose/term.csv')).toBe(false);
      expect(await local.exists(local.stack.names.error, 'loose/term.csv')).toBe(false);
      expect(local.summariesFor('loose/term.csv')).toEqual([]);
      for (const table of ['students', 'grades', 'courses']) {
        expect((await local.scan(table)).map((item) => item.student_id)).not.toContain('N40004');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('S3 Batch Operations and the backfill CLI, several datasets', () => {
  it('routes a batch task by its key, as the S3 event handler does', async () => {
    // Prepare: the sample 2.0 event, pointed at a course list
    const { handler } = await import('../../src/handlers/batchOperations.ts');
    await local.upload(
      'courses/batch.csv',
      'code,year,title,credits\nHIST210,2026,Medieval Europe,4\n',
    );
    const event = structuredClone(batchEvent) as BatchEvent;
    event.tasks = event.tasks.map((task) => ({
      ...task,
      s3Key: encodeEventKey('courses/batch.csv'),
      s3Bucket: local.stack.names.inbound,
    }));

    // Act
    const response = await handler(event, lambdaContext());

    // Assess
    expect(response.results).toEqual([
      expect.objectContaining({
        resultCode: 'Succeeded',
        resultString: 'SUCCEEDED: 1 rows loaded',
      }),
    ]);
    expect(await local.scan('courses')).toContainEqual({
      code: 'HIST210',
      year: 2026,
      title: 'Medieval Europe',
      credits: 4,
    });
  });

  it("runs a backfill of two prefixes, each file into its dataset's table", async () => {
    // Prepare
    const { main: backfill } = await import('../../scripts/backfill.ts');
    await local.upload(
      'grades/backfill/g.csv',
      'student_id,course,credits,grade,passed\nB50005,Art,2,C,true\n',
    );
    await local.upload(
      'courses/backfill/c.csv',
      'code,year,title,credits\nART100,2030,Drawing,2\n',
    );
    const directory = await mkdtemp(join(tmpdir(), 'backfill-'));
    const { io, text } = captureIo();

    try {
      // Act
      const codes = [];
      for (const prefix of ['grades/backfill/', 'courses/backfill/']) {
        const args = ['--local', '--bucket', local.stack.names.inbound, '--prefix', prefix];
        codes.push(await backfill([...args, '--report-dir', directory], io));
      }

      // Assess
      expect(codes).toEqual([0, 0]);
      const reports = [...text().matchAll(/Completion report: (.+)$/gm)].map((m) => m[1] ?? '');
      const rows = await Promise.all(
        reports.map(async (report) => parse(await readFile(report, 'utf8')) as string[][]),
      );
      expect(rows.map((report) => report.map((row) => row[6]))).toEqual([
        ['SUCCEEDED: 1 rows loaded'],
        ['SUCCEEDED: 1 rows loaded'],
      ]);
      expect(await local.scan('grades')).toContainEqual(
        expect.objectContaining({ student_id: 'B50005', course: 'Art', credits: 2 }),
      );
      expect(await local.scan('courses')).toContainEqual(
        expect.objectContaining({ code: 'ART100', year: 2030 }),
      );
      expect((await local.scan('students')).map((item) => item.student_id)).not.toContain('B50005');
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
