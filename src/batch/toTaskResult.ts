import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { ConfigError, InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { IngestOutcome, ObjectLocation } from '../types.ts';
import type { BatchResultCode, BatchTaskResult } from './types.ts';

/** S3 keeps the result string in the completion report; stay well under its 1 KB. */
export const MAX_RESULT_BYTES = 1000;

const ELLIPSIS = '…';

/** One line of at most `max` UTF-8 bytes, cut between code points, never inside one. */
function clipUtf8(text: string, max = MAX_RESULT_BYTES): string {
  const line = Array.from(text, (c) => (c.charCodeAt(0) < 0x20 ? ' ' : c)).join('');
  if (Buffer.byteLength(line) <= max) return line;
  const room = max - Buffer.byteLength(ELLIPSIS);
  let used = 0;
  let out = '';
  for (const c of line) {
    const size = Buffer.byteLength(c);
    if (used + size > room) break;
    out += c;
    used += size;
  }
  return out + ELLIPSIS;
}

const s3url = (l: ObjectLocation): string => `s3://${l.bucket}/${l.key}`;

function fromOutcome(outcome: IngestOutcome): [BatchResultCode, string] {
  const again = outcome.replayed ? ' (already done earlier in this job)' : '';
  if (outcome.kind === 'skipped') {
    return ['PermanentFailure', `${outcome.reason}: ${outcome.detail}${again}`];
  }
  if (outcome.kind === 'continued') {
    // Still loading in follow-up invocations, so not succeeded (it may yet fail: a bad line
    // further down, the strict policy, the error rate). TemporaryFailure makes S3 Batch
    // Operations ask again later, and then the task gets the file's final result. If S3 stops
    // asking first, the completion report lists the task as failed with this text.
    return [
      'TemporaryFailure',
      `CONTINUED: not finished yet: ${outcome.rows.total} rows read so far, part ${outcome.part} goes on from byte ${outcome.offset} in a new invocation; the file's summary tells how it ends`,
    ];
  }
  const { status, rows, report, rejected, destination, fileError } = outcome.result;
  const moved = destination ? `; moved to ${s3url(destination)}` : '';
  const fix = rejected ? `; rows to fix and upload again ${s3url(rejected)}` : '';
  const where = report ? `; report ${s3url(report)}${fix}` : fix;
  switch (status) {
    case 'SUCCEEDED': {
      const duplicates = rows.duplicates > 0 ? ` (${rows.duplicates} duplicate keys)` : '';
      return ['Succeeded', `SUCCEEDED: ${rows.written} rows loaded${duplicates}${moved}${again}`];
    }
    case 'PARTIAL':
      return [
        'Succeeded',
        `PARTIAL: ${rows.rejected} of ${rows.total} rows rejected, ${rows.written} loaded${where}${moved}${again}`,
      ];
    case 'FAILED': {
      const loaded = rows.written > 0 ? `; ${rows.written} rows loaded before the problem` : '';
      const reason = fileError ? `${fileError.code}: ${fileError.message}` : 'file rejected';
      return ['PermanentFailure', `FAILED ${reason}${loaded}${where}${moved}${again}`];
    }
    case 'SUPERSEDED':
      // Batch tasks are never ordered against uploads; kept for a stored outcome of an upload.
      return ['PermanentFailure', `SUPERSEDED by a newer upload of the same name${moved}${again}`];
  }
}

function fromError(error: unknown): [BatchResultCode, string] {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (error instanceof ConfigError) return ['PermanentFailure', error.message];
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return ['TemporaryFailure', `Another invocation is processing this object: ${message}`];
  }
  if (error instanceof InfrastructureError) {
    return [error.transient ? 'TemporaryFailure' : 'PermanentFailure', message];
  }
  // Anything else (the idempotency store, a bug): retry only what a retry can fix.
  const cause = error instanceof Error ? error.cause : undefined;
  return [
    isTransient(error) || isTransient(cause) ? 'TemporaryFailure' : 'PermanentFailure',
    message,
  ];
}

/**
 * Maps what the pipeline did with one task to S3 Batch Operations' result code: a loaded file
 * (even with rejected rows) succeeded; a file or job problem is permanent; an infrastructure
 * error S3 should redrive is temporary.
 */
export function toTaskResult(
  taskId: string,
  settled: PromiseSettledResult<IngestOutcome>,
): BatchTaskResult {
  const [resultCode, text] =
    settled.status === 'fulfilled' ? fromOutcome(settled.value) : fromError(settled.reason);
  return { taskId, resultCode, resultString: clipUtf8(text) };
}
