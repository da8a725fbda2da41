import { stringify } from 'csv-stringify/sync';

/** One task's line in a completion report (`Report_CSV_20180820`). */
export interface CompletionRow {
  bucket: string;
  /** As in the manifest: URL-encoded. */
  key: string;
  versionId: string;
  taskStatus: 'succeeded' | 'failed';
  httpStatusCode: number;
  /** Empty when the task succeeded, else the result code (PermanentFailure, TemporaryFailure). */
  errorCode: string;
  resultMessage: string;
}

/**
 * A completion report laid out as S3 Batch Operations writes its `results/*.csv`: no header, and
 * the columns in the order of the rows in AWS's examples (`bucket,key,,failed,200,
 * PermanentFailure,"…"`): Bucket, Key, VersionId, TaskStatus, HTTPStatusCode, ErrorCode,
 * ResultMessage. (The ReportSchema line of S3's manifest.json lists ErrorCode before
 * HTTPStatusCode, but its rows put the status code first.)
 */
export function writeCompletionReport(rows: Iterable<CompletionRow>): string {
  return stringify(
    Array.from(rows, (r) => [
      r.bucket,
      r.key,
      r.versionId,
      r.taskStatus,
      r.httpStatusCode,
      r.errorCode,
      r.resultMessage,
    ]),
    { record_delimiter: 'unix' },
  );
}
