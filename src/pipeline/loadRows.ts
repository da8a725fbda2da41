import type { Readable } from 'node:stream';
import { clipValue } from '../bounds.ts';
import type { UnknownColumnsPolicy } from '../config.ts';
import { type RawRow, toFileProblem } from '../csv/createCsvParser.ts';
import { delimiterName, detectDelimiter } from '../csv/detectDelimiter.ts';
import type { SourceEncoding } from '../csv/encodings.ts';
import { type OpenedCsv, openCsv } from '../csv/openCsv.ts';
import type { BatchWriter } from '../dynamo/BatchWriter.ts';
import { KeyTracker } from '../dynamo/KeyTracker.ts';
import { FileProblem, InfrastructureError } from '../errors.ts';
import { type RejectedWriter, unguardCell } from '../s3/RejectedWriter.ts';
import type { ReportWriter } from '../s3/ReportWriter.ts';
import type { FileLayout, RowCounts } from '../types.ts';
import {
  fitsLayout,
  isBlankRecord,
  isSchemaRecord,
  noteUnnamedValues,
  resolveHeader,
  toRecord,
} from '../validation/resolveHeader.ts';
import type { Dataset } from '../validation/schema.ts';
import { legacyLayout, type ReadPosition, type ResumePoint } from './resumePoint.ts';
import { headerCells, rowRejecter } from './rowRejecter.ts';

export type { ReadPosition, ResumePoint } from './resumePoint.ts';
export { MIN_ROWS_FOR_ERROR_RATE } from './rowRejecter.ts';

export interface LoadProgress {
  rowsRead: number;
  rowsRejected: number;
  bytes: number;
  rowsPerSecond: number;
}

export interface LoadRowsOptions {
  /** The schema the rows are checked against (the dataset the object's key picked). */
  dataset: Dataset;
  /** Where valid rows go; null validates only (the first pass of the strict policy). */
  writer: BatchWriter | null;
  report: ReportWriter;
  /** Where each rejected row goes as the file had it, to be fixed and sent back (issue 18). */
  rejected?: RejectedWriter | undefined;
  maxErrorRate: number;
  /** The keys earlier parts of the file produced (a long file's key set); empty by default. */
  seen?: KeyTracker | undefined;
  /** The object is gzip: `body` is always the whole object (a continuation skips to its offset). */
  gzip?: boolean | undefined;
  /** What a file without a byte order mark is read as (default utf-8). */
  sourceEncoding?: SourceEncoding | undefined;
  /** Columns outside the schema: left out (default) or the file is rejected. */
  unknownColumns?: UnknownColumnsPolicy | undefined;
  /** Continue a file from a checkpoint; `body` then starts at `resume.offset`. */
  resume?: ResumePoint | undefined;
  /** Asked every few hundred rows; true stops at the next record boundary (time is running out). */
  shouldStop?: ((at: number) => boolean) | undefined;
  /**
   * The caller settles or flushes the writer once the rows are read (a part that may hand over
   * even after its last row: see loadParts); loadRows then flushes only after a file problem.
   */
  keepWrites?: boolean | undefined;
  /** Called at most every `progressIntervalMs` with how far the file got. */
  onProgress?: ((progress: LoadProgress) => void) | undefined;
  progressIntervalMs?: number | undefined;
}

export interface LoadRowsResult {
  rows: RowCounts;
  /** Set when the file itself is bad; rows read before the problem were still written. */
  fileError: FileProblem | null;
  /**
   * Set when reading stopped early to continue in another invocation. The writer is then left
   * as it is, for the caller to settle (a hand-over) or flush.
   */
  stoppedAt: ReadPosition | null;
  /** Just past the last record read (the end of the file when it was read to the end). */
  readTo: ReadPosition;
  layout: FileLayout | null;
}

function readFailure(cause: unknown): InfrastructureError {
  if (cause instanceof InfrastructureError) return cause;
  return new InfrastructureError(`Reading the object failed: ${(cause as Error).message}`, {
    cause,
  });
}

/** Rows between two looks at the clock: cheap enough, and fine-grained enough to stop on time. */
const CHECK_EVERY_ROWS = 256;
/** How often the clock is read while the writer makes the parser wait. */
const SLOW_CHECK_MS = 1_000;

/**
 * Streams a CSV object through UTF-8 check → csv-parse → header → schema → de-duplication →
 * batched writes, reporting every rejected row. Row problems are counted and reported; a file
 * problem stops the file and is returned; infrastructure failures are thrown.
 */
export async function loadRows(body: Readable, options: LoadRowsOptions): Promise<LoadRowsResult> {
  const { writer, resume, dataset } = options;
  const names = dataset.names;
  const rows: RowCounts = resume
    ? { ...resume.rows }
    : { total: 0, written: 0, rejected: 0, duplicates: 0 };
  // Across the parts of a long file the key set is handed on (see pipeline/keySet.ts); the later
  // row wins either way, because a part's writes have all landed before the next part starts.
  const seen = options.seen ?? new KeyTracker();
  let layout: FileLayout | null = resume ? (resume.layout ?? legacyLayout(resume)) : null;
  // Unnamed columns (empty header cells) found holding a value: run index → column.
  const filled = new Map<number, number>();
  for (const column of layout?.unnamedFilled ?? []) {
    const run = layout?.unnamed?.findIndex(([first, end]) => column >= first && column < end);
    if (run !== undefined && run >= 0) filled.set(run, column);
  }
  const { reject, checkErrorRate } = rowRejecter(rows, {
    report: options.report,
    rejected: options.rejected,
    maxErrorRate: options.maxErrorRate,
    delimiter: () => layout?.delimiter ?? ',',
  });

  const start = resume ?? { offset: 0, line: 1 };
  // Where the row being handled starts: the end of the record before it (the writer's watermark).
  let rowOffset = start.offset;
  let rowLine = start.line;
  const replayEnd = resume?.replayThrough?.offset ?? -1;

  // A row the previous part already counted, reported and tracked: only its write is repeated
  // (puts are idempotent, and in file order the last row for a key still wins). This is the one
  // place that tells a replayed row from a new one; nothing below it runs for a replayed row.
  const replay = (row: RawRow, known: FileLayout): void | Promise<void> => {
    if (!writer || !fitsLayout(row.fields, known)) return;
    const { record, errors } = dataset.checkRecord(
      toRecord(row.fields, known.mapping, names),
      row.line,
    );
    if (!errors) return writer.put(dataset.keyOf(record), record, rowOffset, rowLine);
  };

  // Synchronous for a valid row: a promise only when the writer or the report asks to wait, so
  // the common row costs no promise and no microtask.
  const handle = (row: RawRow): void | Promise<void> => {
    // Excel's empty rows at the bottom (`,,,,`) are no more a row than an empty line is.
    if (isBlankRecord(row.fields)) return;
    if (row.end <= replayEnd && layout !== null) return replay(row, layout);
    if (layout === null) {
      const columns = resolveHeader(row.fields, row.line, {
        unknownColumns: options.unknownColumns,
        dataset,
        delimiter: dialect.delimiter,
        delimiterName: delimiterName(dialect.delimiter),
      });
      const header = headerCells(row.fields, columns, names);
      layout = { ...columns, header, delimiter: dialect.delimiter, encoding: dialect.encoding };
      options.rejected?.useHeader(header);
      if (layout.kind === 'header') return;
    }
    rows.total++;
    let wait: Promise<void> | undefined | void;
    if (!fitsLayout(row.fields, layout)) {
      wait = reject(
        [
          {
            line: row.line,
            field: '',
            // The row as the file has it: a semicolon file's row joined by commas would blur its fields.
            value: clipValue(row.fields.join(layout.delimiter)),
            error:
              layout.width === names.length
                ? `expected ${names.length} fields (${names.join(', ')}), found ${row.fields.length}`
                : `expected ${layout.width} fields like the header, found ${row.fields.length}`,
            code: 'FIELD_COUNT',
          },
        ],
        row.fields,
        true,
      );
    } else {
      if (layout.unnamed) noteUnnamedValues(row.fields, layout, filled);
      // A rejected-rows file sent back: its cells lose the formula guard it was written with.
      const fields = layout.sentBack ? row.fields.map(unguardCell) : row.fields;
      const { record, errors } = dataset.checkRecord(
        toRecord(fields, layout.mapping, names),
        row.line,
      );
      if (errors) {
        wait = reject(errors, fields);
      } else {
        const key = dataset.keyOf(record);
        if (seen.add(key)) rows.duplicates++;
        if (writer) wait = writer.put(key, record, rowOffset, rowLine);
      }
    }
    if (wait) return wait.then(() => checkErrorRate(row.line));
    checkErrorRate(row.line);
  };

  if (layout) options.rejected?.useHeader(layout.header ?? headerCells([], layout, names));
  let opened: OpenedCsv;
  try {
    opened = await openCsv(body, {
      start,
      dialect: layout ? { delimiter: layout.delimiter, encoding: layout.encoding } : null,
      sourceEncoding: options.sourceEncoding ?? 'utf-8',
      gzip: options.gzip,
      detectDelimiter: (head) =>
        detectDelimiter(head, {
          columns: dataset.columns,
          minColumns: dataset.requiredWidth,
          isRecord: (fields) => isSchemaRecord(fields, dataset),
        }),
    });
  } catch (error) {
    const fileError = toFileProblem(error);
    if (!fileError) throw readFailure(error);
    return { rows, fileError, stoppedAt: null, readTo: start, layout };
  }
  const { parser, flowing, dialect } = opened;
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
      rowOffset = row.end;
      rowLine = row.nextLine;
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
      if (options.shouldStop?.(row.end)) {
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
    if (!fileError) throw readFailure(rootCause);
  }
  if (!fileError && !stoppedAt && layout === null) {
    fileError = new FileProblem('EMPTY_FILE', 'The file is empty: no header and no rows.');
  } else if (!fileError && !stoppedAt && rows.total === 0) {
    fileError = new FileProblem('NO_DATA_ROWS', 'The file has a header but no data rows.', 1);
  }
  // SOURCE_ENCODING=auto: what the bytes of this part told, for the summary and the next part.
  if (layout) layout = { ...layout, encoding: opened.encodingNow() };
  if (layout && filled.size > 0) {
    layout = { ...layout, unnamedFilled: [...filled.values()].sort((a, b) => a - b) };
  }
  if (writer && (fileError || !(stoppedAt || options.keepWrites))) await writer.flush();
  rows.written = rows.total - rows.rejected - rows.duplicates;
  const readTo = { offset: rowOffset, line: rowLine };
  return { rows, fileError, stoppedAt: fileError ? null : stoppedAt, readTo, layout };
}
