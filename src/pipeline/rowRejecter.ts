import { clipValue } from '../bounds.ts';
import { FileProblem } from '../errors.ts';
import type { RejectedWriter } from '../s3/RejectedWriter.ts';
import type { ReportWriter } from '../s3/ReportWriter.ts';
import type { FileLayout, RowCounts, RowError } from '../types.ts';

/** S3 Batch Operations' rule: an error rate is only judged once this many rows were read. */
export const MIN_ROWS_FOR_ERROR_RATE = 1_000;

/** How much of a header cell the rejected-rows file keeps (a schema name is far shorter). */
const MAX_HEADER_CELL = 256;

/**
 * The header of the file's rejected-rows file: its own cells (bounded), without the `error`
 * column of a file sent back; the schema's columns for a file without a header (or an old layout).
 */
export function headerCells(
  fields: readonly string[],
  columns: Omit<FileLayout, 'delimiter' | 'encoding'>,
  names: readonly string[],
): string[] {
  if (columns.kind === 'data' || fields.length === 0) {
    const cells = new Array<string>(columns.width).fill('');
    columns.mapping.forEach((at, i) => {
      cells[at] = names[i] as string;
    });
    return cells;
  }
  const own = columns.sentBack ? fields.slice(0, -1) : fields;
  return own.map((cell) => clipValue(cell, MAX_HEADER_CELL));
}

export interface RowRejecterOptions {
  report: ReportWriter;
  rejected?: RejectedWriter | undefined;
  maxErrorRate: number;
  /** The file's delimiter, once its layout is known (a raw record is joined by it). */
  delimiter: () => string;
}

export interface RowRejecter {
  /**
   * Counts a rejected row and sends it into the report, and into the rejected-rows file as its
   * cells (or, when `raw`, the record's text under the first column).
   */
  reject: (errors: RowError[], cells: readonly string[], raw?: boolean) => Promise<void>;
  /** Ends the file (a FileProblem) once too many of the rows read so far were rejected. */
  checkErrorRate: (line: number) => void;
}

/** Where a file's rejected rows go, counted in `rows`. */
export function rowRejecter(rows: RowCounts, options: RowRejecterOptions): RowRejecter {
  const { report, maxErrorRate } = options;

  const reject = async (errors: RowError[], cells: readonly string[], raw = false) => {
    rows.rejected++;
    for (const error of errors) {
      const wait = report.add(error);
      if (wait) await wait;
    }
    const { rejected } = options;
    if (!rejected) return;
    const reasons = errors.map((error) => error.error);
    const wait = raw
      ? rejected.addRaw(cells.join(options.delimiter()), reasons.join('; '))
      : rejected.add(cells, reasons);
    if (wait) await wait;
  };

  const checkErrorRate = (line: number): void => {
    if (rows.total >= MIN_ROWS_FOR_ERROR_RATE && rows.rejected / rows.total > maxErrorRate) {
      throw new FileProblem(
        'ERROR_RATE_EXCEEDED',
        `Stopped at line ${line}: ${rows.rejected} of ${rows.total} rows (${((100 * rows.rejected) / rows.total).toFixed(1)}%) were rejected, more than the allowed ${(100 * maxErrorRate).toFixed(0)}% (MAX_ERROR_RATE).`,
        line,
      );
    }
  };

  return { reject, checkErrorRate };
}
