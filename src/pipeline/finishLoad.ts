import type { Config } from '../config.ts';
import { summariseWrites } from '../dynamo/writeTotals.ts';
import type { FileProblem } from '../errors.ts';
import type { Checkpoint, LoadedProgress } from '../ledger/ProgressLedger.ts';
import type { RejectedWriter } from '../s3/RejectedWriter.ts';
import type { ReportWriter } from '../s3/ReportWriter.ts';
import { withVersion } from '../s3/withVersion.ts';
import type {
  IngestResult,
  IngestStatus,
  ObjectLocation,
  RowError,
  StoredObject,
  UploadRef,
  WriteTotals,
} from '../types.ts';
import type { DatasetContext, IngestContext, IngestOptions } from './context.ts';
import { describeCsv } from './describeCsv.ts';
import { joinReport } from './reportPieces.ts';
import { rejectedPieceLocation, reportPieceLocation } from './scratch.ts';

/** How many rejected rows the summary names (the report has them all). */
export const SUMMARY_ERRORS = 10;

const ROW_ERROR_CODES = new Set<RowError['code']>(['SCHEMA', 'FIELD_COUNT']);

/** How a load ended: what finishLoad needs to close the report and decide the outcome. */
export interface LoadEnd {
  state: Checkpoint;
  report: ReportWriter;
  rejected?: RejectedWriter | undefined;
  rows: IngestResult['rows'];
  fileError: FileProblem | null;
  exact: UploadRef;
  size: number;
  writes?: WriteTotals | undefined;
}

/** Where the file goes: null when it stays (no move asked, or it is already where it belongs). */
function destinationFor(
  upload: UploadRef,
  status: IngestStatus,
  options: IngestOptions,
  config: Config,
): ObjectLocation | null {
  // The archive is the record of what was loaded: a file reprocessed from there stays there.
  if (!options.move || upload.bucket === config.archiveBucket) return null;
  const bucket = status === 'SUCCEEDED' ? config.archiveBucket : config.errorBucket;
  // Reprocessing a file in the error bucket that fails again: copying it onto itself and then
  // deleting "the source" would delete the only copy.
  if (bucket === upload.bucket) return null;
  return { bucket, key: upload.key };
}

/** Closes the rejected-rows file, joining a long file's pieces once; null when no row was rejected. */
async function closeRejected(
  upload: UploadRef,
  { clients, config, ledger }: IngestContext,
  { state, rejected }: LoadEnd,
): Promise<StoredObject | null> {
  if (!rejected) return null;
  const lastPiece = await rejected.close();
  if (state.part === 0) return lastPiece && withVersion(lastPiece, rejected.versionId);
  const pieces = (state.rejectedParts ?? []).map((part) =>
    rejectedPieceLocation(config, upload, part),
  );
  if (lastPiece) pieces.push(lastPiece);
  if (pieces.length === 0) return null;
  return joinReport(clients, config, ledger, upload, pieces, rejected.metadata, 'rejected');
}

/**
 * Finishes loading a file: closes the report (joining the pieces of a long file) and computes
 * the outcome, the LOADED progress that the later steps (copy, delete, publish) act on.
 */
export async function finishLoad(
  upload: UploadRef,
  context: DatasetContext,
  options: IngestOptions,
  done: LoadEnd,
): Promise<LoadedProgress> {
  const { clients, config, ledger } = context;
  const { state, report, rows, fileError } = done;
  const errors = [...state.firstErrors, ...report.first]
    .filter((e) => ROW_ERROR_CODES.has(e.code))
    .slice(0, SUMMARY_ERRORS);
  if (fileError) {
    const wait = report.add({
      line: fileError.line ?? 0,
      field: '',
      value: fileError.value,
      error: fileError.message,
      code: fileError.code,
    });
    if (wait) await wait;
  }
  const lastPiece = await report.close();
  // No undefined fields: the outcome is stored as it is by Powertools' idempotency layer.
  let reportLocation: StoredObject | null = lastPiece && withVersion(lastPiece, report.versionId);
  if (state.part > 0) {
    const pieces = state.reportParts.map((part) => reportPieceLocation(config, upload, part));
    if (lastPiece) pieces.push(lastPiece);
    if (pieces.length > 0) {
      reportLocation = await joinReport(clients, config, ledger, upload, pieces, report.metadata);
    }
  }
  const rejected = await closeRejected(upload, context, done);

  const status: IngestStatus = fileError ? 'FAILED' : rows.rejected > 0 ? 'PARTIAL' : 'SUCCEEDED';
  const result: IngestResult = {
    status,
    ...(context.config.datasets.declared ? { dataset: context.dataset.name } : {}),
    source: {
      ...withVersion({ bucket: upload.bucket, key: upload.key }, done.exact.versionId),
      ...(upload.sequencer ? { sequencer: upload.sequencer } : {}),
    },
    destination: destinationFor(upload, status, options, config),
    report: reportLocation,
    ...(rejected ? { rejected } : {}),
    rows,
    errors,
    fileError: fileError ? { code: fileError.code, message: fileError.message } : null,
    ...describeCsv(state.layout),
    durationMs: Date.now() - state.startedAt,
  };
  const writes = summariseWrites(done.writes, rows.written, result.durationMs);
  if (writes) result.writes = writes;
  return {
    stage: 'LOADED',
    result,
    versionId: done.exact.versionId,
    eTag: done.exact.eTag,
    size: done.size,
  };
}
