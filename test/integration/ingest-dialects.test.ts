import { gzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import { beforeEach, describe, expect, it } from 'vitest';
import { fixture, type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * Files as people make them (Excel leftovers, other separators, extra columns, other encodings,
 * compressed), through the real middy handler against the local stack.
 */

const harness = useLocalStack();

beforeEach(async () => {
  await harness.clearTable();
});

function onlySummary(key: string): SummaryMessage {
  const summaries = harness.messagesFor(key);
  expect(summaries).toHaveLength(1);
  return summaries[0] as SummaryMessage;
}

/** Uploads `body` and runs the real handler, configured with `env` on top of the stack's. */
function ingestWith(env: Record<string, string>, key: string, body: Buffer | string) {
  return harness.ingest(key, body, harness.handler({ env }));
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

  it('loads a file whose columns without a header hold values, and names those columns, never the values', async () => {
    // Prepare: column 3 has no name but a value in one row; the trailing unnamed column is empty
    const body = [
      'student_id,first_name,,last_name,course,',
      'U10001,Ada,,Lovelace,Math 101,',
      'U10002,Alan,private note,Turing,Logic,',
      'U10003,Grace,,Hopper,Compilers,',
    ].join('\r\n');

    // Act
    const upload = await harness.ingest('excel/unnamed-values.csv', body);

    // Assess: loaded as usual, and the summary says a column was not loaded, by its position
    expect(await harness.tableRows()).toHaveLength(3);
    expect(JSON.stringify(await harness.tableRows())).not.toContain('private note');
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json).toMatchObject({
      csv: { columnsNotLoaded: ['column 3 (no header)'], columnsNotLoadedCount: 1 },
    });
    expect(summary.parts.email).toContain('Columns not loaded: column 3 (no header)');
    expect(JSON.stringify(summary)).not.toContain('private note');
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
    expect((await harness.reportRows('excel/bad-row.errors.csv')).slice(1)).toEqual([
      ['5', 'last_name', '', 'last_name is empty'],
    ]);
    expect((await harness.tableRows()).map((row) => row.student_id)).toEqual(['E10012']);
  });
});

describe('Handler: ingest, columns outside the schema', () => {
  it('loads an export with extra columns, never writes them, and names them in the summary', async () => {
    // Act
    const upload = await harness.ingest('sis/export.csv', fixture('sis-export.csv'));

    // Assess
    const rows = await harness.tableRows();
    expect(rows).toEqual([
      { student_id: 'S10001', first_name: 'Ada', last_name: 'Lovelace', course: 'Math 101' },
      {
        student_id: 'S10002',
        first_name: 'Alan',
        last_name: 'Turing',
        course: 'Logic, Advanced',
      },
      { student_id: 'S10003', first_name: 'Grace', last_name: 'Hopper', course: 'Compilers' },
    ]);
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json).toMatchObject({
      csv: { columnsNotLoaded: ['email', 'term'], columnsNotLoadedCount: 2 },
    });
    expect(summary.parts.email).toContain('Columns not loaded: email, term');
    expect(summary.parts.email).not.toContain('@example.edu');
    expect(await harness.whereIs(upload.key)).toEqual([harness.names.archive]);
  });

  it('rejects the file under UNKNOWN_COLUMNS=reject, naming the columns', async () => {
    // Act
    const upload = await ingestWith(
      { UNKNOWN_COLUMNS: 'reject' },
      'sis/strict.csv',
      fixture('sis-export.csv'),
    );

    // Assess
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('FAILED');
    expect(summary.json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message:
        'The header must name the columns student_id,first_name,last_name,course (in any order): unknown "email", "term" (UNKNOWN_COLUMNS is reject).',
    });
    expect(await harness.tableRows()).toEqual([]);
  });

  it('still fails a file that lacks a required column, naming it', async () => {
    // Act
    const upload = await harness.ingest(
      'sis/no-course.csv',
      'student_id,first_name,last_name,email\nS10001,Ada,Lovelace,ada@example.edu\n',
    );

    // Assess
    const summary = onlySummary(upload.key);
    expect(summary.json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message:
        'The header must name the columns student_id,first_name,last_name,course (in any order): missing course; unknown "email".',
    });
  });

  it('names at most 10 columns not loaded, each cut to 64 characters, control characters escaped', async () => {
    // Prepare
    const extra = [
      `note\u0007${'x'.repeat(100)}`,
      ...Array.from({ length: 11 }, (_, i) => `extra${i + 1}`),
    ];
    const header = ['student_id', 'first_name', 'last_name', 'course', ...extra].join(',');
    const row = ['S10009', 'Ada', 'Lovelace', 'Maths', ...extra.map(() => 'v')].join(',');

    // Act
    const upload = await harness.ingest('sis/wide.csv', `${header}\n${row}\n`);

    // Assess
    const summary = onlySummary(upload.key);
    const named = (summary.json as { csv?: { columnsNotLoaded: string[] } }).csv?.columnsNotLoaded;
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(named).toHaveLength(10);
    expect(named?.[0]).toBe(`note\\u0007${'x'.repeat(53)}…`);
    expect(named?.[0]).toHaveLength(64);
    expect(named?.slice(1)).toEqual(Array.from({ length: 9 }, (_, i) => `extra${i + 1}`));
    expect(summary.parts.email).toContain('extra9 and 2 more');
  });
});

describe('Handler: ingest, separators', () => {
  it('reads a European Excel file (semicolons, unquoted commas in values) and says which separator it used', async () => {
    // Act
    const upload = await harness.ingest('sep/semicolon.csv', fixture('semicolon.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'D10001',
        first_name: 'Ada',
        last_name: 'Lovelace',
        course: 'Databases, Advanced',
      },
      { student_id: 'D10002', first_name: 'Alan', last_name: 'Turing', course: 'Logic; Sets' },
      {
        student_id: 'D10003',
        first_name: 'Grace "Amazing"',
        last_name: 'Hopper',
        course: 'Compilers, Part 1',
      },
    ]);
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json).toMatchObject({ csv: { separator: ';' } });
    expect(summary.parts.email).toContain('Separator: semicolon');
  });

  it.each([
    ['tab-separated.csv', '\t', 'tab'],
    ['pipe.csv', '|', 'pipe'],
  ])('reads %s, quoting included, with its separator', async (name, separator, said) => {
    // Act
    const upload = await harness.ingest(`sep/${name}`, fixture(name));

    // Assess
    const rows = await harness.tableRows();
    const expected = parse(fixture(name), { delimiter: separator, columns: true }) as Record<
      string,
      string
    >[];
    expect(rows).toEqual(
      [...expected].sort((a, b) => String(a.student_id).localeCompare(String(b.student_id))),
    );
    expect(rows.map((row) => row.course)).toContainEqual(
      separator === '\t' ? 'Tabs\tand "quotes"' : 'Pipes | and, commas',
    );
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json).toMatchObject({ csv: { separator } });
    expect(summary.parts.email).toContain(`Separator: ${said}`);
  });

  it('finds the separator of a file without a header from its first record', async () => {
    // Act
    const upload = await harness.ingest(
      'sep/headerless-semicolon.csv',
      fixture('headerless-semicolon.csv'),
    );

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'H10001',
        first_name: 'Ada',
        last_name: 'Lovelace',
        course: 'Databases, Advanced',
      },
      { student_id: 'H10002', first_name: 'Alan', last_name: 'Turing', course: 'Logic' },
    ]);
    expect(onlySummary(upload.key).json).toMatchObject({
      status: 'SUCCEEDED',
      csv: { separator: ';' },
    });
  });

  it("says the first line's shape and the separators tried when none fits, never its content", async () => {
    // Act
    const upload = await harness.ingest('sep/none.csv', fixture('no-separator.csv'));

    // Assess
    const summary = onlySummary(upload.key);
    expect(summary.json.status).toBe('FAILED');
    expect(summary.json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message:
        'The first line (1 field, 62 characters) is not a header naming student_id, first_name, last_name, course, and does not split into 4 columns with any of , ; tab |.',
    });
    const everything = JSON.stringify(summary.parts) + summary.published.subject;
    for (const word of ['A10001', 'Reacher', 'Lockpicking']) expect(everything).not.toContain(word);
    // The line itself is shown only in the private report.
    const report = await harness.reportRows('sep/none.errors.csv');
    const [firstLine] = fixture('no-separator.csv').toString().split('\n');
    expect(report.slice(1)).toEqual([['1', '', firstLine, summary.json.fileError?.message]]);
  });
});

describe('Handler: ingest, encodings', () => {
  it('decodes UTF-16 LE with a BOM (Excel\'s "Unicode Text", tab-separated) and says so', async () => {
    // Act
    const upload = await harness.ingest('enc/unicode-text.csv', fixture('utf16le-tab.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'U10001',
        first_name: 'Zoë',
        last_name: 'Ødegård',
        course: 'Poetry "Modern"',
      },
      { student_id: 'U10002', first_name: '小明', last_name: '王', course: 'Mandarin, Spoken' },
      {
        student_id: 'U10003',
        first_name: 'Ada 😀',
        last_name: 'Lovelace',
        course: 'Engines\r\nand Looms',
      },
    ]);
    const summary = onlySummary(upload.key);
    expect(summary.json).toMatchObject({
      status: 'SUCCEEDED',
      csv: { separator: '\t', encoding: 'UTF-16 LE' },
    });
    expect(summary.parts.email).toContain('Encoding:  UTF-16 LE (not UTF-8)');
    expect(summary.parts.email).toContain('Separator: tab');
  });

  it('decodes UTF-16 BE with a BOM', async () => {
    // Act
    const upload = await harness.ingest('enc/utf16be.csv', fixture('utf16be.csv'));

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'V10001',
        first_name: 'Zoë',
        last_name: 'Ødegård',
        course: 'Poetry, Modern',
      },
      { student_id: 'V10002', first_name: 'Ada 😀', last_name: 'Lovelace', course: 'Engines' },
    ]);
    expect(onlySummary(upload.key).json).toMatchObject({
      status: 'SUCCEEDED',
      csv: { encoding: 'UTF-16 BE' },
    });
  });

  it('reads a file that is not UTF-8 as Windows-1252 under SOURCE_ENCODING=auto, and says so', async () => {
    // Act
    const upload = await ingestWith(
      { SOURCE_ENCODING: 'auto' },
      'enc/ansi.csv',
      fixture('windows-1252-semicolon.csv'),
    );

    // Assess
    expect(await harness.tableRows()).toEqual([
      {
        student_id: 'W10001',
        first_name: 'José',
        last_name: 'Núñez',
        course: 'Databases – “Advanced”',
      },
      { student_id: 'W10002', first_name: 'Zoë', last_name: 'Œuvre', course: 'Price € and ‰' },
    ]);
    const summary = onlySummary(upload.key);
    expect(summary.json).toMatchObject({
      status: 'SUCCEEDED',
      csv: { separator: ';', encoding: 'Windows-1252' },
    });
    expect(summary.parts.email).toContain('Encoding:  Windows-1252 (not UTF-8)');
  });

  it('reads UTF-8 as UTF-8 under SOURCE_ENCODING=auto, and a forced windows-1252 as that', async () => {
    // Act
    const utf8 = await ingestWith(
      { SOURCE_ENCODING: 'auto' },
      'enc/auto-utf8.csv',
      fixture('valid.csv'),
    );
    const forced = await ingestWith(
      { SOURCE_ENCODING: 'windows-1252' },
      'enc/forced.csv',
      fixture('windows-1252.csv'),
    );

    // Assess
    expect(onlySummary(utf8.key).json).toMatchObject({ status: 'SUCCEEDED' });
    expect(onlySummary(utf8.key).json).not.toHaveProperty('csv');
    expect(onlySummary(forced.key).json).toMatchObject({
      status: 'SUCCEEDED',
      csv: { encoding: 'Windows-1252' },
    });
    const names = (await harness.tableRows()).map((row) => `${row.first_name} ${row.last_name}`);
    expect(names).toContain('José Núñez');
    expect(names).toContain('Zoë Ødegård');
    expect(names).toContain('小明 王');
  });

  it('still rejects a file that mixes UTF-8 and other bytes under auto, and Windows-1252 by default', async () => {
    // Prepare
    const mixed = Buffer.concat([
      Buffer.from('student_id,first_name,last_name,course\nX10001,Zoë,Lee,Maths\nX10002,Jos'),
      Buffer.from([0xe9]),
      Buffer.from(',Lee,Maths\n'),
    ]);

    // Act
    const a = await ingestWith({ SOURCE_ENCODING: 'auto' }, 'enc/mixed.csv', mixed);
    const b = await harness.ingest('enc/default.csv', fixture('windows-1252.csv'));

    // Assess
    expect(onlySummary(a.key).json.fileError?.code).toBe('INVALID_UTF8');
    expect(onlySummary(b.key).json.fileError?.code).toBe('WINDOWS_1252');
  });
});

describe('Handler: ingest, compressed files', () => {
  it.each(['gz/valid.csv.gz', 'gz/VALID.CSV.GZ', 'gz/Valid.Csv.Gz'])(
    'loads %s through gunzip like the .csv, and archives the compressed bytes',
    async (key) => {
      // Prepare
      const body = fixture('valid.csv.gz');

      // Act
      const upload = await harness.ingest(key, body);

      // Assess
      const expected = parse(fixture('valid.csv'), { columns: true }) as Record<string, string>[];
      expect(await harness.tableRows()).toEqual(
        [...expected].sort((a, b) => String(a.student_id).localeCompare(String(b.student_id))),
      );
      expect(onlySummary(upload.key).json).toMatchObject({
        status: 'SUCCEEDED',
        rows: { total: 5, written: 5, rejected: 0, duplicates: 0 },
      });
      expect(await harness.read(harness.names.archive, key)).toEqual(body);
    },
  );

  it("reads a compressed UTF-16 tab-separated file (Excel's Unicode Text, gzipped)", async () => {
    // Act
    const upload = await harness.ingest('gz/unicode.csv.gz', gzipSync(fixture('utf16le-tab.csv')));

    // Assess
    expect(onlySummary(upload.key).json).toMatchObject({
      status: 'SUCCEEDED',
      rows: { total: 3, written: 3 },
      csv: { separator: '\t', encoding: 'UTF-16 LE' },
    });
    expect((await harness.tableRows()).map((row) => row.first_name)).toContain('Ada 😀');
  });

  it('fails a .csv.gz that is not gzip, or is cut short, saying which', async () => {
    // Prepare
    const whole = gzipSync(fixture('valid.csv'));

    // Act
    const plain = await harness.ingest('gz/plain.csv.gz', fixture('valid.csv'));
    const cut = await harness.ingest('gz/cut.csv.gz', whole.subarray(0, whole.length - 12));

    // Assess
    expect(onlySummary(plain.key).json.fileError).toEqual({
      code: 'INVALID_GZIP',
      message:
        'The file is named .csv.gz but is not gzip-compressed: name it .csv, or compress it with gzip.',
    });
    expect(onlySummary(cut.key).json.fileError).toEqual({
      code: 'INVALID_GZIP',
      message: 'The file ends before its gzip stream does: it was cut short. Upload it again.',
    });
    expect(await harness.whereIs('gz/plain.csv.gz')).toEqual([harness.names.error]);
  });
});
