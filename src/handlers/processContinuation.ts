import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import type { Context } from 'aws-lambda';
import { DATASET_LOG_KEY, logger, recordOutcome } from '../observability.ts';
import type { ContinuationEvent } from '../pipeline/continuation.ts';
import type { IngestOnce } from '../pipeline/ingestOnce.ts';

/**
 * A duplicate delivery of an upload (or part) that another invocation is processing right now:
 * logged at INFO and ended without an error, so it is neither retried nor dead-lettered. The
 * attempt in progress is covered by its own retries if it crashes, and its lock ends with its
 * invocation's deadline.
 */
export function isDuplicateInProgress(error: unknown): boolean {
  if (!(error instanceof IdempotencyAlreadyInProgressError)) return false;
  logger.info('Duplicate delivery: this upload is already in progress in another invocation', {
    error: error.message,
  });
  return true;
}

/**
 * Goes on with a long file where the previous invocation stopped (the checkpoint is in the
 * ledger). Both handlers accept these events: a function always continues its own files.
 */
export async function processContinuation(
  event: ContinuationEvent,
  lambda: Context,
  ingest: IngestOnce,
): Promise<void> {
  const { upload } = event;
  logger.appendKeys({ bucket: upload.bucket, key: upload.key, part: event.part });
  try {
    recordOutcome(upload, await ingest(upload, lambda, event.options, event.part));
  } catch (error) {
    if (!isDuplicateInProgress(error)) throw error;
  } finally {
    logger.removeKeys(['bucket', 'key', 'part', DATASET_LOG_KEY]);
  }
}
