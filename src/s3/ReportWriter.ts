import type { S3Client } from '@aws-sdk/client-s3';
import { clipValue } from '../bounds.ts';
import type { ObjectLocation, RowError, RowProblem } from '../types.ts';
import { CsvUpload } from './CsvUpload.ts';

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
  private readonly csv: CsvUpload;

  public constructor(
    s3: S3Client,
    public readonly location: ObjectLocation,
    private readonly keep = 10,
    /** False for the later pieces of a report that several invocations write. */
    header = true,
  ) {
    this.csv = new CsvUpload(s3, location, {
      header: header ? REPORT_COLUMNS : null,
      what: 'the report',
    });
  }

  /** The report's version, once closed, when the bucket is versioned. */
  public get versionId(): string | undefined {
    return this.csv.versionId;
  }

  /** Appends one error; returns a promise only when the caller should wait for the upload. */
  public add(error: RowError): void | Promise<void> {
    this.count++;
    if (this.first.length < this.keep) {
      const { line, field, error: reason, code } = error;
      this.first.push({ line, field, error: reason, code });
    }
    return this.csv.write(
      [
        error.line,
        neutralise(error.field),
        // Values are cut where they are made; this is the last guard for any other caller.
        neutralise(clipValue(error.value)),
        neutralise(error.error),
      ],
      this.metadata,
    );
  }

  /** Finishes the upload; returns where the report is, or null when there was nothing to report. */
  public close(): Promise<ObjectLocation | null> {
    return this.csv.close();
  }
}
