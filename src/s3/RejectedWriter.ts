import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectLocation } from '../types.ts';
import { CsvUpload } from './CsvUpload.ts';

/** The last column of a rejected-rows file: the row's reasons. Never loaded when it comes back. */
export const ERROR_COLUMN = 'error';

/** `x/y.csv` → `x/y.rejected.csv`: the rows to fix sit next to the report. */
export function rejectedKey(key: string): string {
  return /\.csv$/i.test(key) ? `${key.slice(0, -4)}.rejected.csv` : `${key}.rejected.csv`;
}

/**
 * The formula guard of the rejected-rows file, and its exact inverse. A cell a spreadsheet would
 * run (it starts with = + - @, a tab or a CR) is written with a leading apostrophe, and so is a
 * cell that already starts with an apostrophe. Loading a file with the `error` column drops one
 * apostrophe in front of any of those characters (the apostrophe included). So every value comes
 * back exactly as it was: `=1+2` → `'=1+2` → `=1+2`, and `'=x` → `''=x` → `'=x`.
 */
const GUARDED_START = /^[=+\-@\t\r']/;
const GUARD_MARK = /^'[=+\-@\t\r']/;

export function guardCell(cell: string): string {
  return GUARDED_START.test(cell) ? `'${cell}` : cell;
}

export function unguardCell(cell: string): string {
  return GUARD_MARK.test(cell) ? cell.slice(1) : cell;
}

/**
 * A separator a semicolon-locale (or tab/pipe) spreadsheet splits at: such a cell is quoted, so a
 * part after it never becomes a cell of its own (and a formula).
 */
const OTHER_SEPARATOR = /[;\t|]/;

/**
 * Streams the rejected rows of a file as a CSV a person can fix and upload again: the file's own
 * header and cells, plus a last `error` column with the row's reasons. Comma-separated UTF-8 with
 * a byte order mark, whatever the source's separator and encoding. Memory stays flat: each row is
 * written to the multipart upload as it comes.
 */
export class RejectedWriter {
  public count = 0;
  /** Written with the file (which upload it belongs to); set before the first row. */
  public metadata: Record<string, string> | undefined;
  private csv: CsvUpload | null = null;
  private width = 0;

  public constructor(
    private readonly s3: S3Client,
    public readonly location: ObjectLocation,
    /** False for the later pieces of a file that several invocations write. */
    private readonly withHeader = true,
  ) {}

  /**
   * The file's header cells (bounded, see FileLayout.header), without the `error` column of a
   * file sent back; known once the first row is read, set before the first add.
   */
  public useHeader(header: readonly string[]): void {
    if (this.csv) return;
    this.width = header.length;
    this.csv = new CsvUpload(this.s3, this.location, {
      header: this.withHeader ? [...header.map(guardCell), ERROR_COLUMN] : null,
      bom: true,
      quoted: OTHER_SEPARATOR,
      what: 'the rejected rows',
    });
  }

  /** The file's version, once closed, when the bucket is versioned. */
  public get versionId(): string | undefined {
    return this.csv?.versionId;
  }

  /**
   * Appends one rejected row: its cells as the file had them (padded or cut to the header's
   * width, so the `error` column stays last), and its reasons.
   */
  public add(cells: readonly string[], reasons: readonly string[]): void | Promise<void> {
    if (!this.csv) throw new Error('RejectedWriter.add before useHeader');
    this.count++;
    const row: string[] = [];
    for (let i = 0; i < this.width; i++) row.push(guardCell(cells[i] ?? ''));
    row.push(guardCell(reasons.join('; ')));
    return this.csv.write(row, this.metadata);
  }

  /** A record that could not be split into the header's fields: its raw text under the first column. */
  public addRaw(raw: string, reason: string): void | Promise<void> {
    // Not cut: the parser bounds a record (MAX_RECORD_SIZE), and the row must not lose a character.
    return this.add([raw], [reason]);
  }

  /** Finishes the upload; returns where the file is, or null when no row was rejected. */
  public async close(): Promise<ObjectLocation | null> {
    return this.csv ? this.csv.close() : null;
  }
}
