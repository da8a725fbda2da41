import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createCsvParser, type RawRow, toFileProblem } from '../csv/createCsvParser.ts';
import { Utf8Validator } from '../csv/Utf8Validator.ts';
import type { BatchWriter } from '../dynamo/BatchWriter.ts';
import { KeyTracker } from '../dynamo/KeyTracker.ts';
import { FileProblem, InfrastructureError } from '../errors.ts';
import type { ReportWriter } from '../s3/ReportWriter.ts';
import type { RowCounts, RowError } from '../types.ts';
import { type ColumnMapping, resolveHeader, toRecord } from '../validation/resolveHeader.ts';
import { COLUMNS, TABLE_KEY, validateRecord } from '../validation/schema.ts';

/** S3 Batch Operations' rule: an error rate is only judged once this many rows were read. */
export const MIN_ROWS_FOR_ERROR_RATE = 1_000;

/** Where reading stopped or resumes: always a record boundary. */
export interface ReadPosition {
  offset: number;
  line: number;
}

/** What a continuation needs to go on where the previous invocation stopped. */
export interface ResumePoint extends ReadPosition {
  mapping: ColumnMapping | null;
  rows: RowCounts;
}

export interface LoadProgress {
  rowsRead: number;
  rowsRejected: number;
  bytes: number;
  rowsPerSecond: number;
}

export interface LoadRowsOptions {
  /** Where valid rows go; null validates only (the first pass of the strict policy). */
  writer: BatchWriter | null;
  report: ReportWriter;
  maxErrorRate: number;
  /** Continue a file from a checkpoint; `body` then starts at `resume.offset`. */
  resume?: ResumePoint | undefined;
  /** Asked every few hundred rows; true stops at the next record boundary (time is running out). */
  shouldStop?: (() => boolean) | undefined;
  /** Called at most every `progressIntervalMs` with how far the file got. */
  onProgress?: ((progress: LoadProgress) => void) | undefined;
  progressIntervalMs?: number | undefined;
}

export interface LoadRowsResult {
  rows: RowCounts;
  /** Set when the file itself is bad; rows read before the problem were still written. */
  fileError: FileProblem | null;
  /** Set when reading stopped early to continue in another invocation. */
  stoppedAt: ReadPosition | null;
  mapping: ColumnMapping | null;
}

/** Rows between two looks at the clock: cheap enough, and fine-grained enough to stop on time. */
const CHECK_EVERY_ROWS = 256;
/** How often the clock is read while the writer makes the parser wait. */
const SLOW_CHECK_MS = 1_000;

const PARTITION = TABLE_KEY.partition;
const SORT = TABLE_KEY.sort;

/**
 * Streams a CSV object through UTF-8 check → csv-parse → header → schema → de-duplication →
 * batched writes, reporting every rejected row. Row problems are counted and reported; a file
 * problem stops the file and is returned; infrastructure failures are thrown.
 */
export async function loadRows(body: Readable, options: LoadRowsOptions): Promise<LoadRowsResult> {
  const { writer, report, maxErrorRate, resume } = options;
  const rows: RowCounts = resume
    ? { ...resume.rows }
    : { total: 0, written: 0, rejected: 0, duplicates: 0 };
  // Duplicates are counted within one invocation's part of a file; across parts the later row
  // still wins, because a part's writes have all landed before the next part starts.
  const seen = new KeyTracker();
  let mapping: ColumnMapping | null = resume?.mapping ?? null;

  const reject = async (errors: RowError[]): Promise<void> => {
    rows.rejected++;
    for (const error of errors) {
      const wait = report.add(error);
      if (wait) await wait;
    }
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

  // Synchronous for a valid row: a promise only when the writer or the report asks to wait, so
  // the common row costs no promise and no microtask.
  const handle = (row: RawRow): void | Promise<void> => {
    if (mapping === null) {
      const resolution = resolveHeader(row.fields, row.line);
      mapping = resolution.mapping;
      if (resolution.kind === 'header') return;
    }
    rows.total++;
    let wait: Promise<void> | undefined | void;
    if (row.fields.length !== mapping.length) {
      wait = reject([
        {
          line: row.line,
          field: '',
          value: row.fields.join(',').slice(0, 200),
          error: `expected ${COLUMNS.length} fields (${COLUMNS.join(', ')}), found ${row.fields.length}`,
          code: 'FIELD_COUNT',
        },
      ]);
    } else {
      const record = toRecord(row.fields, mapping);
      const errors = validateRecord(record, row.line);
      if (errors) {
        wait = reject(errors);
      } else {
        const key = `${record[PARTITION]}\u0000${record[SORT]}`;
        if (seen.add(key)) rows.duplicates++;
        if (writer) wait = writer.put(key, record);
      }
    }
    if (wait) return wait.then(() => checkErrorRate(row.line));
    checkErrorRate(row.line);
  };

  const start = resume ?? { offset: 0, line: 1 };
  const parser = createCsvParser({ startOffset: start.offset, startLine: start.line });
  const flowing = pipeline(body, new Utf8Validator(start.offset, start.line), parser);
  const startedAt = Date.now();
  const startTotal = rows.total;
  const interval = options.progressIntervalMs ?? 10_000;
  let lastProgress = startedAt;
  let lastCheck = startedAt;
  let sinceCheck = 0;
  let fileError: FileProblem | null = null;
  let stoppedAt: ReadPosition | null = null;
  try {
    for await (const row of parser as AsyncIterable<RawRow>) {
      const wait = handle(row);
      if (wait) await wait;
      // Against a slow table 256 rows can take minutes: after a wait the clock is read anyway,
      // at most once a second, so the deadline is never missed by more than that.
      if (++sinceCheck < CHECK_EVERY_ROWS && !(wait && Date.now() - lastCheck >= SLOW_CHECK_MS)) {
        continue;
      }
      sinceCheck = 0;
      const now = Date.now();
      lastCheck = now;
      if (options.onProgress && now - lastProgress >= interval) {
        lastProgress = now;
        options.onProgress({
          rowsRead: rows.total,
          rowsRejected: rows.rejected,
          bytes: row.end,
          rowsPerSecond: Math.round(
            ((rows.total - startTotal) * 1000) / Math.max(1, now - startedAt),
          ),
        });
      }
      if (options.shouldStop?.()) {
        stoppedAt = { offset: row.end, line: row.nextLine };
        break;
      }
    }
    if (stoppedAt) {
      // Leaving the loop destroyed the parser; the premature close that follows is expected.
      await flowing.catch(() => undefined);
    } else {
      await flowing;
    }
  } catch (error) {
    parser.destroy();
    // The stream's own error (bad bytes, broken CSV) is the root cause, not the iterator's echo.
    const rootCause = await flowing.then(
      () => error,
      (streamError: unknown) => (toFileProblem(streamError) ? streamError : error),
    );
    fileError = toFileProblem(rootCause, parser.nextRecordLine());
    if (!fileError) {
      if (rootCause instanceof InfrastructureError) throw rootCause;
      throw new InfrastructureError(`Reading the object failed: ${(rootCause as Error).message}`, {
        cause: rootCause,
      });
    }
  }
  if (!fileError && !stoppedAt && mapping === null) {
    fileError = new FileProblem('EMPTY_FILE', 'The file is empty: no header and no rows.');
  } else if (!fileError && !stoppedAt && rows.total === 0) {
    fileError = new FileProblem('NO_DATA_ROWS', 'The file has a header but no data rows.', 1);
  }
  if (writer) await writer.flush();
  rows.written = rows.total - rows.rejected - rows.duplicates;
  return { rows, fileError, stoppedAt: fileError ? null : stoppedAt, mapping };
}
