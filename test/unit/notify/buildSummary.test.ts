import { describe, expect, it } from 'vitest';
import {
  buildSummary,
  spokenDuration,
  subjectFor,
  summaryJson,
  summaryText,
  throttlingNote,
} from '../../../src/notify/buildSummary.ts';
import type { IngestResult, RowError } from '../../../src/types.ts';

const rowError = (line: number): RowError => ({
  line,
  field: 'student_id',
  value: `bad${line}`,
  error:
    'student_id has an invalid format (expected one capital letter and five digits, e.g. A10001)',
  code: 'SCHEMA',
});

function result(overrides: Partial<IngestResult> = {}): IngestResult {
  return {
    status: 'SUCCEEDED',
    source: { bucket: 'inbound', key: 'term1/students.csv' },
    destination: { bucket: 'archive', key: 'term1/students.csv' },
    report: null,
    rows: { total: 5, written: 5, rejected: 0, duplicates: 0 },
    errors: [],
    fileError: null,
    durationMs: 1234,
    ...overrides,
  };
}

const partial = (): IngestResult =>
  result({
    status: 'PARTIAL',
    destination: { bucket: 'errors', key: 'term1/students.csv' },
    report: { bucket: 'errors', key: 'term1/students.errors.csv' },
    rows: { total: 40, written: 20, rejected: 12, duplicates: 8 },
    errors: Array.from({ length: 12 }, (_, i) => rowError(i + 2)),
  });

const failed = (): IngestResult =>
  result({
    status: 'FAILED',
    destination: { bucket: 'errors', key: 'term1/students.csv' },
    report: { bucket: 'errors', key: 'term1/students.errors.csv' },
    rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
    fileError: { code: 'INVALID_HEADER', message: 'The header must name the columns …' },
  });

type Parts = Record<string, string>;
const parts = (r: IngestResult): Parts => JSON.parse(buildSummary(r).message) as Parts;

/** What SNS accepts as a Subject. */
const VALID_SUBJECT = /^[\x20-\x7e]{1,99}$/;

describe('Function: subjectFor', () => {
  it('leads with the status and the counts', () => {
    // Act & Assess
    expect(subjectFor(result())).toBe('[SUCCEEDED] students.csv: 5 rows loaded');
    expect(subjectFor(partial())).toBe('[PARTIAL] students.csv: 20 loaded, 12 rejected');
    expect(subjectFor(failed())).toBe('[FAILED] students.csv: file rejected');
  });

  it.each([
    ['line breaks and a tab', 'in\nbox/x\r\ny\tz.csv'],
    ['accented letters', 'term+1/résumé = a+b&c.csv'],
    ['Hangul', `${'한국어'.repeat(30)}.csv`],
    ['a ligature that NFKD expands', `${'ﬁ'.repeat(80)}.csv`],
    ['emoji', `${'😀'.repeat(60)}.csv`],
    ['a very long name', `${'a'.repeat(300)}.csv`],
  ])(
    'stays under 100 ASCII characters without line breaks and keeps the counts, for a key with %s',
    (_name, key) => {
      // Act
      const subject = subjectFor({ ...partial(), source: { bucket: 'inbound', key } });

      // Assess
      expect(subject).toMatch(VALID_SUBJECT);
      expect(subject.length).toBeLessThan(100);
      expect(subject).not.toMatch(/[\r\n]/);
      expect(subject.startsWith('[PARTIAL] ')).toBe(true);
      expect(subject.endsWith(': 20 loaded, 12 rejected')).toBe(true);
    },
  );

  it('drops accents instead of replacing the letter', () => {
    // Act & Assess
    expect(subjectFor(result({ source: { bucket: 'inbound', key: 'Zoë Núñez.csv' } }))).toBe(
      '[SUCCEEDED] Zoe Nunez.csv: 5 rows loaded',
    );
  });
});

describe('Function: buildSummary', () => {
  it('returns one message with a part per protocol, as MessageStructure "json" requires', () => {
    // Act
    const message = parts(partial());

    // Assess
    expect(Object.keys(message).sort()).toEqual(
      ['default', 'email', 'email-json', 'http', 'https', 'lambda', 'sqs'].sort(),
    );
    for (const value of Object.values(message)) expect(typeof value).toBe('string');
    expect(message.email).toBe(message.default);
    expect(message.sqs).toBe(message.lambda);
    expect(message.http).toBe(message.sqs);
    expect(message.https).toBe(message.sqs);
    expect(message['email-json']).toBe(message.sqs);
  });

  it('gives machine readers exactly the documented shape, with the first 10 errors as {line, field, error}', () => {
    // Act
    const json = JSON.parse(parts(partial()).sqs ?? '');

    // Assess
    expect(json).toEqual({
      status: 'PARTIAL',
      source: { bucket: 'inbound', key: 'term1/students.csv' },
      destination: { bucket: 'errors', key: 'term1/students.csv' },
      rows: { total: 40, written: 20, rejected: 12, duplicates: 8 },
      report: { bucket: 'errors', key: 'term1/students.errors.csv' },
      errors: Array.from({ length: 10 }, (_, i) => ({
        line: i + 2,
        field: 'student_id',
        error: rowError(0).error,
      })),
      durationMs: 1234,
    });
  });

  it('leaves out report (and fileError) when there is none', () => {
    // Act
    const json = JSON.parse(parts(result()).lambda ?? '');

    // Assess
    expect(Object.keys(json)).toEqual([
      'status',
      'source',
      'destination',
      'rows',
      'errors',
      'durationMs',
    ]);
    expect(json.errors).toEqual([]);
  });

  it('adds fileError {code, message} to a FAILED summary', () => {
    // Act
    const json = JSON.parse(parts(failed()).http ?? '');

    // Assess
    expect(json.status).toBe('FAILED');
    expect(json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message: 'The header must name the columns …',
    });
    expect(json.report).toEqual({ bucket: 'errors', key: 'term1/students.errors.csv' });
  });

  it('agrees with summaryJson and summaryText', () => {
    // Act
    const message = parts(failed());

    // Assess
    expect(JSON.parse(message.sqs ?? '')).toEqual(summaryJson(failed()));
    expect(message.default).toBe(summaryText(failed()));
    expect(buildSummary(failed()).subject).toBe(subjectFor(failed()));
  });
});

describe('Function: summaryText', () => {
  it('escapes line breaks and control characters of keys and messages, so no key writes its own lines', () => {
    // Prepare
    const key = 'in\r\nStatus: SUCCEEDED\nEvery row loaded.\u0007.csv';
    const crafted = result({
      ...failed(),
      source: { bucket: 'inbound', key, versionId: 'v\n1' },
      destination: { bucket: 'errors', key },
      report: { bucket: 'errors', key: `${key}.errors.csv` },
      fileError: { code: 'INVALID_HEADER', message: 'unknown "a\nb"\rStatus: OK' },
      errors: [{ ...rowError(2), error: 'student_id\nline 3: fine' }],
    });

    // Act
    const text = summaryText(crafted);

    // Assess
    const lines = text.split('\n');
    expect(lines.filter((line) => line.startsWith('Status:'))).toEqual(['Status: FAILED']);
    for (const c of ['\r', '\u0007']) expect(text).not.toContain(c);
    expect(text).toContain(
      'File:   s3://inbound/in\\r\\nStatus: SUCCEEDED\\nEvery row loaded.\\u0007.csv (version v\\n1)',
    );
    expect(text).toContain('  unknown "a\\nb"\\rStatus: OK');
    expect(text).toContain('  line 2: student_id\\nline 3: fine');
    expect(lines.filter((line) => line.startsWith('  line '))).toHaveLength(1);
  });

  it('tells a person the status, the file, the counts, the first problems and where things went', () => {
    // Act
    const text = summaryText(partial());

    // Assess
    expect(text).toContain('Status: PARTIAL');
    expect(text).toContain('File:   s3://inbound/term1/students.csv');
    expect(text).toContain('Rows read:      40');
    expect(text).toContain('Rows loaded:    20');
    expect(text).toContain('Rows rejected:  12');
    expect(text).toContain('Duplicate keys: 8 (the last row for each student and course was kept)');
    expect(text).toContain('First problems (of 12 rejected rows):');
    expect(text).toContain(`  line 2: ${rowError(0).error}\n`);
    // A value from a row is student data: it lives only in the report, even if handed in here.
    expect(text).not.toMatch(/bad\d/);
    expect(text).toContain('line 11:');
    expect(text).not.toContain('line 12:');
    expect(text).toContain('The file is now at s3://errors/term1/students.csv');
    expect(text).toContain('Every rejected row is listed in s3://errors/term1/students.errors.csv');
    expect(text).toContain('Processed in 1.2 s.');
  });

  it('explains why a file was rejected', () => {
    // Act
    const text = summaryText(failed());

    // Assess
    expect(text).toContain('The file was rejected:\n  The header must name the columns …');
    expect(text).not.toContain('First problems');
  });
});

describe('Function: buildSummary (versions and superseded uploads)', () => {
  const superseded = (): IngestResult =>
    result({
      status: 'SUPERSEDED',
      source: { bucket: 'inbound', key: 'term1/roster.csv', versionId: 'v1', sequencer: '0A' },
      destination: { bucket: 'errors', key: 'superseded/term1/roster.csv', versionId: 'e1' },
      rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
    });

  it('says that a superseded upload was not loaded, and where it is kept', () => {
    // Act
    const text = summaryText(superseded());

    // Assess
    expect(subjectFor(superseded())).toBe('[SUPERSEDED] roster.csv: a newer upload replaced it');
    expect(text).toContain('Status: SUPERSEDED');
    expect(text).toContain('SUPERSEDED by a newer upload of the same name');
    expect(text).toContain(
      'The file is now at s3://errors/superseded/term1/roster.csv (version e1)',
    );
    expect(text).not.toContain('rows were written before it stopped');
  });

  it('counts the rows a superseded upload wrote before it stopped', () => {
    const stopped = {
      ...superseded(),
      rows: { total: 600, written: 590, rejected: 10, duplicates: 0 },
    };
    expect(summaryText(stopped)).toContain('590 rows were written before it stopped.');
  });

  it('names the version of the upload, of its copy and of its report', () => {
    // Prepare
    const versioned = result({
      status: 'PARTIAL',
      source: { bucket: 'inbound', key: 'a.csv', versionId: 'in-1', sequencer: '0A' },
      destination: { bucket: 'errors', key: 'a.csv', versionId: 'out-1' },
      report: { bucket: 'errors', key: 'a.errors.csv', versionId: 'rep-1' },
    });

    // Act
    const json = summaryJson(versioned);
    const text = summaryText(versioned);

    // Assess
    expect(json).toMatchObject({
      source: { versionId: 'in-1', sequencer: '0A' },
      destination: { versionId: 'out-1' },
      report: { versionId: 'rep-1' },
    });
    expect(text).toContain('File:   s3://inbound/a.csv (version in-1)');
    expect(text).toContain(
      'Every rejected row is listed in s3://errors/a.errors.csv (version rep-1)',
    );
  });
});

describe('Function: throttlingNote (a table that set the pace)', () => {
  const throttled = (): IngestResult =>
    result({
      rows: { total: 1_500, written: 1_500, rejected: 0, duplicates: 0 },
      durationMs: 250_000,
      writes: { calls: 200, throttled: 82, rejected: 9, rowsPerSecond: 6 },
    });

  it('says in plain words that DynamoDB throttled the load, how long it took and how fast', () => {
    // Act
    const text = summaryText(throttled());

    // Assess
    expect(text).toContain(
      'DynamoDB throttled 41% of writes; the load took 4 min 10 s at about 6 rows/s.',
    );
    expect(throttlingNote(throttled().writes, 250_000)).toBe(
      'DynamoDB throttled 41% of writes; the load took 4 min 10 s at about 6 rows/s.',
    );
  });

  it('says nothing when the table did not limit the load (a stray throttle is noise)', () => {
    // Act
    const text = summaryText(
      result({ writes: { calls: 100, throttled: 2, rejected: 0, rowsPerSecond: 900 } }),
    );

    // Assess
    expect(text).not.toContain('throttled');
    expect(summaryText(result())).not.toContain('throttled');
  });

  it('adds the writes {calls, throttled, rejected, rowsPerSecond} to the JSON summary', () => {
    // Act
    const json = JSON.parse(parts(throttled()).sqs ?? '');

    // Assess
    expect(json.writes).toEqual({ calls: 200, throttled: 82, rejected: 9, rowsPerSecond: 6 });
  });

  it.each([
    [400, '1 s'],
    [12_300, '12 s'],
    [60_000, '1 min'],
    [250_000, '4 min 10 s'],
    [3_900_000, '1 h 5 min'],
  ])('speaks %i ms as "%s"', (ms, spoken) => {
    // Act & Assess
    expect(spokenDuration(ms)).toBe(spoken);
  });
});

describe('The rejected-rows file in the summary (issue 18)', () => {
  const rejected = { bucket: 'errors', key: 'term1/students.rejected.csv', versionId: 'v1' };

  it('names the file and the next step in the e-mail of a PARTIAL file', () => {
    // Act
    const text = summaryText({ ...partial(), rejected });

    // Assess
    expect(text).toContain(
      'Fix the 12 rows in s3://errors/term1/students.rejected.csv (version v1) and upload it to the inbound bucket',
    );
  });

  it('does not tell a FAILED file to upload the rows alone', () => {
    // Act
    const text = summaryText({ ...failed(), rows: { ...failed().rows, rejected: 2 }, rejected });

    // Assess
    expect(text).not.toContain('Fix the');
    expect(text).toContain(
      'rows rejected before the file stopped are in s3://errors/term1/students.rejected.csv',
    );
  });

  it('carries its location with the version in the JSON summary, and nothing without one', () => {
    // Act & Assess
    expect(summaryJson({ ...partial(), rejected }).rejected).toEqual(rejected);
    expect('rejected' in summaryJson(partial())).toBe(false);
  });
});
