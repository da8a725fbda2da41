import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { stringify } from 'csv-stringify';
import { clipValue } from '../bounds.ts';
import { InfrastructureError } from '../errors.ts';
import type { ObjectLocation, RowError, RowProblem } from '../types.ts';

export const REPORT_COLUMNS = ['line', 'field', 'value', 'error'] as const;

/** `x/y.csv` → `x/y.errors.csv`: the report sits next to the file it describes. */
export function reportKey(key: string): string {
  return /\.csv$/i.test(key) ? `${key.slice(0, -4)}.errors.csv` : `${key}.errors.csv`;
}

/** A character that makes a spreadsheet run a cell as a formula, at the start of a cell. */
const FORMULA_START = /^[=+\-@\t\r]/;
/** A part after a separator that starts one: a spreadsheet splitting at `;` (or `,`, tab, `|`) runs it. */
const FORMULA_PART = /([;,\t|]"?)(?=[=+\-@])/g;

/**
 * A spreadsheet runs a cell that starts with = + - @ (or a tab/CR) as a formula: prefix those
 * with an apostrophe so opening the report is safe (OWASP "CSV injection"). A semicolon-locale
 * Excel splits `x;=cmd|' /C calc'!A0` at the `;` into a formula, so a part after a separator that
 * starts one gets its own apostrophe, and the cell one in front.
 */
export function neutralise(cell: string): string {
  const parts = cell.replace(FORMULA_PART, "$1'");
  return FORMULA_START.test(cell) || parts !== cell ? `'${parts}` : cell;
}

/**
 * Streams the rejected-rows report to S3 as it grows (every error, however many), keeping only
 * the first few (without their values) in memory for the summary. Nothing is uploaded for a file with no errors.
 */
export class ReportWriter {
  /** Without their values: these go to the checkpoint, the outcome and the summary. */
  public readonly first: RowProblem[] = [];
  public count = 0;
  /** Written with the report (which upload it belongs to); set before the first error. */
  public metadata: Record<string, string> | undefined;
  /** The report's version, once closed, when the bucket is versioned. */
  public versionId: string | undefined;
  private csv: ReturnType<typeof stringify> | null = null;
  private upload: Promise<{ VersionId?: string | undefined }> | null = null;

  public constructor(
    private readonly s3: S3Client,
    public readonly location: ObjectLocation,
    private readonly keep = 10,
    /** False for the later pieces of a report that several invocations write. */
    private readonly header = true,
  ) {}

  /** Appends one error; returns a promise only when the caller should wait for the upload. */
  public add(error: RowError): void | Promise<void> {
    this.count++;
    if (this.first.length < this.keep) {
      const { line, field, error: reason, code } = error;
      this.first.push({ line, field, error: reason, code });
    }
    const csv = this.csv ?? this.open();
    const ok = csv.write([
      error.line,
      neutralise(error.field),
      // Values are cut where they are made; this is the last guard for any other caller.
      neutralise(clipValue(error.value)),
      neutralise(error.error),
    ]);
    // Wait for the upload to drain the stream, but never hang on an upload that has failed.
    if (!ok) return Promise.race([once(csv, 'drain'), this.upload]).then(() => undefined);
  }

  /** Finishes the upload; returns where the report is, or null when there was nothing to report. */
  public async close(): Promise<ObjectLocation | null> {
    if (!this.csv || !this.upload) return null;
    this.csv.end();
    try {
      const { VersionId: versionId } = await this.upload;
      // "null": written while the bucket was not versioned, so not a version of its own.
      this.versionId = versionId === 'null' ? undefined : versionId;
    } catch (error) {
      throw new InfrastructureError(
        `Writing the report s3://${this.location.bucket}/${this.location.key} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return this.location;
  }

  private open(): ReturnType<typeof stringify> {
    const csv = stringify({
      header: this.header,
      columns: [...REPORT_COLUMNS],
      record_delimiter: 'unix',
    });
    const body = new PassThrough();
    csv.pipe(body);
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.location.bucket,
        Key: this.location.key,
        Body: body,
        ContentType: 'text/csv; charset=utf-8',
        Metadata: this.metadata,
      },
    });
    this.upload = upload.done();
    // Surface upload failures at close(), not as an unhandled rejection mid-file.
    this.upload.catch(() => undefined);
    this.csv = csv;
    return csv;
  }
}
