import { type CsvError, type Options, Parser } from 'csv-parse';
import { FileProblem } from '../errors.ts';

/** A record as read: its fields, the line it starts on, and where the next record starts. */
export interface RawRow {
  fields: string[];
  line: number;
  /** Byte offset just past this record (and its line break): where a continuation resumes. */
  end: number;
  /** Line number just past this record. */
  nextLine: number;
}

/** A row is at most a few hundred characters; anything this large is an unclosed quote or an attack. */
export const MAX_RECORD_SIZE = 64 * 1024;

export interface CsvParserOptions {
  /** Byte offset of the first byte fed to the parser (a continuation starts mid-file). */
  startOffset?: number;
  /** Line number of the first byte fed to the parser. */
  startLine?: number;
  /** The field separator (see detectDelimiter); a comma when not given. */
  delimiter?: string;
  /** How csv-parse turns bytes into text: `latin1` keeps one character per byte for `recode`. */
  encoding?: 'utf8' | 'utf16le' | 'latin1';
  /** Applied to every field of a record read as `latin1` (Windows-1252, or undecided). */
  recode?: ((field: string) => string) | undefined;
}

function countNewlines(fields: string[]): number {
  let count = 0;
  for (const field of fields) {
    let at = field.indexOf('\n');
    while (at !== -1) {
      count++;
      at = field.indexOf('\n', at + 1);
    }
  }
  return count;
}

/**
 * Stamps each record with where it starts and ends as csv-parse pushes it, when its live `info`
 * counters describe exactly that record. (An `on_record` hook would see the same numbers, but
 * csv-parse builds two fresh copies of its whole `info` object per record to call it: that
 * doubled the cost of parsing.)
 */
class RowParser extends Parser {
  private nextLine: number;
  private emptyLinesSeen = 0;

  public constructor(
    options: Options,
    private readonly startOffset: number,
    startLine: number,
    private readonly recode?: ((field: string) => string) | undefined,
  ) {
    super(options);
    this.nextLine = startLine;
  }

  public override push(record: unknown, encoding?: BufferEncoding): boolean {
    if (record === null) return super.push(record, encoding);
    const fields = record as string[];
    if (this.recode)
      for (let i = 0; i < fields.length; i++) fields[i] = this.recode(fields[i] ?? '');
    // csv-parse counts a CRLF inside quotes as two lines; counting ourselves stays exact.
    const line = this.nextRecordLine();
    this.emptyLinesSeen = this.info.empty_lines;
    this.nextLine = line + countNewlines(fields) + 1;
    const row: RawRow = {
      fields,
      line,
      end: this.startOffset + this.info.bytes,
      nextLine: this.nextLine,
    };
    return super.push(row, encoding);
  }

  /** Records are parsed ahead of the reader, so this is where an unterminated record began. */
  public nextRecordLine(): number {
    return this.nextLine + (this.info.empty_lines - this.emptyLinesSeen);
  }
}

/** The parser, and the line the next (possibly unfinished) record starts on. */
export type CsvParser = Parser & { nextRecordLine: () => number };

/**
 * csv-parse in array mode (its fastest) with the dialect users send: optional BOM, CRLF or LF,
 * quoted fields with commas, doubled quotes and line breaks. Each record carries the line it
 * starts on, so a rejected row can be found in an editor, and the byte offset past it, so a
 * continuation can resume exactly there.
 */
export function createCsvParser(options: CsvParserOptions = {}): CsvParser {
  return new RowParser(
    {
      bom: true,
      delimiter: options.delimiter ?? ',',
      encoding: options.encoding ?? 'utf8',
      // Both, always: csv-parse otherwise guesses from the first record, and a file that mixes
      // them (rows appended by another editor) would keep a stray CR in the last field.
      record_delimiter: ['\r\n', '\n'],
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      max_record_size: MAX_RECORD_SIZE,
    },
    options.startOffset ?? 0,
    options.startLine ?? 1,
    options.recode,
  );
}

/** Maps csv-parse's error codes to a file problem a person can act on. */
export function toFileProblem(error: unknown, recordStartLine?: number): FileProblem | null {
  if (error instanceof FileProblem) return error;
  const zlibCode = (error as { code?: unknown } | null)?.code;
  if (typeof zlibCode === 'string' && zlibCode.startsWith('Z_')) {
    // zlib: not gzip at all (Z_DATA_ERROR), or cut short (Z_BUF_ERROR, "unexpected end of file").
    return new FileProblem(
      'INVALID_GZIP',
      zlibCode === 'Z_BUF_ERROR'
        ? 'The file ends before its gzip stream does: it was cut short. Upload it again.'
        : 'The file is named .csv.gz but is not gzip-compressed: name it .csv, or compress it with gzip.',
      recordStartLine,
      { cause: error },
    );
  }
  const csvError = error as Partial<CsvError> & { lines?: number };
  if (typeof csvError?.code !== 'string' || !csvError.code.startsWith('CSV_')) return null;
  const line = typeof csvError.lines === 'number' ? csvError.lines : undefined;
  const at = line === undefined ? '' : ` at line ${line}`;
  // csv-parse reports where it gave up; for a record that never ends, where it began is what a
  // person needs to find the stray quote.
  const start = recordStartLine ?? line;
  const row = start === undefined ? 'A row' : `The row starting at line ${start}`;
  switch (csvError.code) {
    case 'CSV_MAX_RECORD_SIZE':
      return new FileProblem(
        'RECORD_TOO_LARGE',
        `${row} is longer than ${MAX_RECORD_SIZE / 1024} KiB: most likely a quote that is never closed, or a field far larger than any valid value.`,
        start,
        { cause: error },
      );
    case 'CSV_QUOTE_NOT_CLOSED':
      return new FileProblem(
        'MALFORMED_CSV',
        `Malformed CSV: a quoted field in ${row.charAt(0).toLowerCase()}${row.slice(1)} is never closed (the file ends inside quotes${at}).`,
        start,
        { cause: error },
      );
    default:
      // Only the code: csv-parse's messages can quote the field it was reading (a value).
      return new FileProblem('MALFORMED_CSV', `Malformed CSV${at} (${csvError.code}).`, line, {
        cause: error,
      });
  }
}
