import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { Context } from 'aws-lambda';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { UploadRef } from '../types.ts';
import { logger, recordOutcome } from '../observability.ts';
import type { IngestOptions } from './ingestObject.ts';
import type { IngestOnce } from './ingestOnce.ts';

export const CONTINUATION_SOURCE = 's3-csv-ingest.continuation';

/** The event a long file hands to the next invocation; the checkpoint itself is in the ledger. */
export interface ContinuationEvent {
  source: typeof CONTINUATION_SOURCE;
  upload: UploadRef;
  part: number;
  options: IngestOptions;
}

export function isContinuationEvent(event: unknown): event is ContinuationEvent {
  return (event as Partial<ContinuationEvent> | null)?.source === CONTINUATION_SOURCE;
}

/**
 * Hands the rest of a file to a fresh invocation of this same function (asynchronous Invoke, so
 * Lambda's own retries and on-failure destination cover it too).
 */
export async function invokeContinuation(
  lambda: LambdaClient,
  functionName: string,
  event: ContinuationEvent,
): Promise<void> {
  try {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify(event),
      }),
    );
    if (out.StatusCode !== 202) throw new Error(`Invoke answered ${out.StatusCode}`);
  } catch (error) {
    throw new InfrastructureError(
      `Handing part ${event.part} of s3://${event.upload.bucket}/${event.upload.key} to ${functionName} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}

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
    logger.removeKeys(['bucket', 'key', 'part']);
  }
}
