import { describe, expect, it } from 'vitest';
import {
  type CsvParserOptions,
  createCsvParser,
  MAX_RECORD_SIZE,
  type RawRow,
  toFileProblem,
} from '../../../src/csv/createCsvParser.ts';
import { FileProblem } from '../../../src/errors.ts';

/** Feeds `input` to a parser in chunks of `chunkSize` bytes, as an S3 stream would. */
async function parse(
  input: string | Buffer,
  chunkSize = Number.POSITIVE_INFINITY,
  options: CsvParserOptions = {},
): Promise<RawRow[]> {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const parser = createCsvParser(options);
  const rows: RawRow[] = [];
  parser.on('data', (row: RawRow) => rows.push(row));
  const done = new Promise<void>((resolve, reject) => {
    parser.on('end', resolve);
    // As loadRows does: a record that never ends is reported where it began.
    parser.on('error', (error) => reject(toFileProblem(error, parser.nextRecordLine()) ?? error));
  });
  const step = Math.min(chunkSize, Math.max(bytes.length, 1));
  for (let at = 0; at < bytes.length; at += step) parser.write(bytes.subarray(at, at + step));
  parser.end();
  await done;
  return rows;
}

async function parseError(input: string | Buffer): Promise<FileProblem> {
  const error = await parse(input).then(
    () => null,
    (e: unknown) => e,
  );
  const problem = toFileProblem(error);
  if (!problem) throw new Error(`expected a CSV error, got ${String(error)}`);
  return problem;
}

const fields = (rows: RawRow[]): string[][] => rows.map((row) => row.fields);

describe('Function: createCsvParser', () => {
  it('strips a UTF-8 BOM so the first header cell is clean', async () => {
    // Act
    const rows = await parse('\uFEFFstudent_id,course\nA10001,Maths\n');

    // Assess
    expect(fields(rows)).toEqual([
      ['student_id', 'course'],
      ['A10001', 'Maths'],
    ]);
  });

  it('reads CRLF and LF line endings alike, also mixed in one file', async () => {
    // Act
    const crlf = await parse('a,b\r\nc,d\r\n');
    const lf = await parse('a,b\nc,d\n');
    const mixed = await parse('a,b\r\nc,d\ne,f');
    const lfFirst = await parse('a,b\nc,d\r\ne,f\r\n');

    // Assess
    expect(fields(crlf)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
    expect(fields(lf)).toEqual(fields(crlf));
    expect(fields(mixed)).toEqual([
      ['a', 'b'],
      ['c', 'd'],
      ['e', 'f'],
    ]);
    // A file that starts with LF must not keep the CR of a later CRLF in its last field.
    expect(fields(lfFirst)).toEqual(fields(mixed));
  });

  it('keeps commas, doubled quotes and line breaks inside quoted fields', async () => {
    // Act
    const rows = await parse(
      'A10001,"Reacher, Jack","He said ""hi""","Line one\nLine two"\r\nA10002,x,y,"CR\r\nLF"\n',
    );

    // Assess
    expect(fields(rows)).toEqual([
      ['A10001', 'Reacher, Jack', 'He said "hi"', 'Line one\nLine two'],
      ['A10002', 'x', 'y', 'CR\r\nLF'],
    ]);
  });

  it('numbers each record by the line it starts on, counting empty lines and multi-line records', async () => {
    // Prepare
    const input = [
      'h1,h2', // 1
      '', // 2
      'a,"two', // 3
      'lines"', // 4
      '', // 5
      '', // 6
      'b,"three', // 7
      '', // 8 (inside quotes: part of the field, not an empty line)
      'lines"', // 9
      'c,d', // 10
    ].join('\r\n');

    // Act
    const rows = await parse(input);

    // Assess
    expect(rows.map((row) => [row.fields[0], row.line])).toEqual([
      ['h1', 1],
      ['a', 3],
      ['b', 7],
      ['c', 10],
    ]);
  });

  it('gives the same records, lines and offsets whatever the chunk boundaries', async () => {
    // Prepare
    const input = Buffer.from(
      '\uFEFFid,name\r\n\r\nA1,"Zoë\r\nNúñez"\r\n\r\nB2,"x, ""y"""\r\nC3,€\n',
    );
    const whole = await parse(input);

    // Act
    const byOne = await parse(input, 1);
    const byThree = await parse(input, 3);

    // Assess
    expect(whole).toHaveLength(4);
    expect(byOne).toEqual(whole);
    expect(byThree).toEqual(whole);
  });

  it('sets end to the byte offset just past each record (BOM and multi-byte letters counted as bytes)', async () => {
    // Prepare
    const input = Buffer.from('\uFEFFid,name\r\n\r\nA1,"Zoë\r\nx"\r\nB2,é\n');

    // Act
    const rows = await parse(input);

    // Assess: the bytes up to each `end` are exactly the text of the rows so far
    const ends = rows.map((row) => row.end);
    expect(ends).toEqual([
      Buffer.byteLength('\uFEFFid,name\r\n'),
      Buffer.byteLength('\uFEFFid,name\r\n\r\nA1,"Zoë\r\nx"\r\n'),
      input.length,
    ]);
    expect(input.subarray(0, 3)).toEqual(Buffer.from([0xef, 0xbb, 0xbf]));
    // A parser started at a record boundary reads the rest exactly (what a continuation does).
    const resumed = await parse(input.subarray(ends[0]), Number.POSITIVE_INFINITY, {
      startOffset: ends[0],
      startLine: 2,
    });
    expect(resumed).toEqual(rows.slice(1));
  });

  it('skips empty lines but keeps a line of blanks as a one-field record', async () => {
    // Act
    const rows = await parse('a,b\n\n   \nc,d\n');

    // Assess
    expect(rows.map((row) => ({ fields: row.fields, line: row.line }))).toEqual([
      { fields: ['a', 'b'], line: 1 },
      { fields: ['   '], line: 3 },
      { fields: ['c', 'd'], line: 4 },
    ]);
  });

  it('keeps records with too many or too few fields (the row check rejects them, not the parser)', async () => {
    // Act
    const rows = await parse('a,b,c,d\na,b\na,b,c,d,e\n');

    // Assess
    expect(rows.map((row) => row.fields.length)).toEqual([4, 2, 5]);
  });

  it('reads nothing from an empty file or one with only line breaks or a BOM', async () => {
    // Act & Assess
    expect(await parse('')).toEqual([]);
    expect(await parse('\r\n\n')).toEqual([]);
    expect(await parse('\uFEFF')).toEqual([]);
  });

  it('rejects an unclosed quote as MALFORMED_CSV with a line number', async () => {
    // Act
    const problem = await parseError('a,b\n\nc,"never closed\nd,e\n');

    // Assess: the row with the stray quote starts on line 3 (after an empty line)
    expect(problem).toBeInstanceOf(FileProblem);
    expect(problem.code).toBe('MALFORMED_CSV');
    expect(problem.message).toMatch(/quoted field in the row starting at line 3 is never closed/);
    expect(problem.line).toBe(3);
  });

  it('rejects a record over MAX_RECORD_SIZE as RECORD_TOO_LARGE', async () => {
    // Prepare
    const huge = `a,b\nc,${'x'.repeat(MAX_RECORD_SIZE + 10)}\n`;

    // Act
    const problem = await parseError(huge);

    // Assess
    expect(problem.code).toBe('RECORD_TOO_LARGE');
    expect(problem.line).toBe(2);
    expect(problem.message).toContain('64 KiB');
  });

  it('rejects a quote left open for more than MAX_RECORD_SIZE as RECORD_TOO_LARGE, before the end of the file', async () => {
    // Prepare
    const open = `a,"${'x\n'.repeat(MAX_RECORD_SIZE)}`;

    // Act
    const problem = await parseError(open);

    // Assess
    expect(problem.code).toBe('RECORD_TOO_LARGE');
  });
});

describe('Function: toFileProblem', () => {
  it('returns a FileProblem unchanged and ignores errors that are not CSV errors', () => {
    // Prepare
    const problem = new FileProblem('EMPTY_FILE', 'empty');

    // Act & Assess
    expect(toFileProblem(problem)).toBe(problem);
    expect(toFileProblem(new Error('ECONNRESET'))).toBeNull();
    expect(toFileProblem(undefined)).toBeNull();
  });

  it('maps any other csv-parse error to MALFORMED_CSV and keeps it as the cause', () => {
    // Prepare
    const csvError = Object.assign(
      // csv-parse quotes the field it was reading: student data, never to be repeated.
      new Error(
        'Invalid Opening Quote: a quote is found on field 1 at line 7, value is "Zyxwvutsrq"',
      ),
      { code: 'CSV_INVALID_OPENING_QUOTE', lines: 7 },
    );

    // Act
    const problem = toFileProblem(csvError);

    // Assess
    expect(problem?.code).toBe('MALFORMED_CSV');
    expect(problem?.line).toBe(7);
    expect(problem?.message).toBe('Malformed CSV at line 7 (CSV_INVALID_OPENING_QUOTE).');
    expect(problem?.cause).toBe(csvError);
  });
});
