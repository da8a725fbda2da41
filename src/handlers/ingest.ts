import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import eventNormalizer from '@middy/event-normalizer';
import type { Context, S3Event, S3EventRecord } from 'aws-lambda';
import { createClients } from '../clients.ts';
import { loadConfig } from '../config.ts';
import { DATASET_LOG_KEY, logger, metrics, recordOutcome } from '../observability.ts';
import { type ContinuationEvent, isContinuationEvent } from '../pipeline/continuation.ts';
import { createIngestOnce, type IngestOnce } from '../pipeline/ingestOnce.ts';
import type { UploadRef } from '../types.ts';
import { isDuplicateInProgress, processContinuation } from './processContinuation.ts';

// Cold start: a missing setting fails here, naming the variable, before any event is touched.
const config = loadConfig();
const clients = createClients(config);
const ingestOnce = createIngestOnce({ clients, config });

/** The upload an S3 record is about. middy's event-normalizer has already URL-decoded the key. */
export function uploadFromRecord(record: S3EventRecord): UploadRef {
  const { bucket, object } = record.s3;
  return {
    bucket: bucket.name,
    key: object.key,
    versionId: object.versionId || undefined,
    eTag: object.eTag || undefined,
    size: object.size,
    sequencer: object.sequencer,
  };
}

/**
 * Ingests every object of an S3 event, one after another. Bad files never throw; if an object
 * hits an infrastructure failure the others are still processed and the first failure is thrown
 * at the end, so Lambda retries and the ledger turns finished objects into no-ops.
 */
export async function processS3Event(
  event: S3Event,
  lambda: Context,
  ingest: IngestOnce,
): Promise<void> {
  const failures: unknown[] = [];
  for (const record of event.Records ?? []) {
    const upload = uploadFromRecord(record);
    if (!record.eventName?.startsWith('ObjectCreated')) {
      logger.info('Event ignored', {
        bucket: upload.bucket,
        key: upload.key,
        eventName: record.eventName,
      });
      continue;
    }
    logger.appendKeys({ bucket: upload.bucket, key: upload.key });
    try {
      recordOutcome(upload, await ingest(upload, lambda));
    } catch (error) {
      if (isDuplicateInProgress(error)) continue;
      logger.error('Object failed; Lambda will retry', { error: error as Error });
      failures.push(error);
    } finally {
      logger.removeKeys(['bucket', 'key', DATASET_LOG_KEY]);
    }
  }
  if (failures.length > 0) throw failures[0];
}

/** The middy-wrapped Lambda handler around an ingest function (tests pass one with their own clients). */
export function createHandler(ingest: IngestOnce) {
  return middy<S3Event | ContinuationEvent, void, Error, Context>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    .use(eventNormalizer())
    .handler((event, context) =>
      isContinuationEvent(event)
        ? processContinuation(event, context, ingest)
        : processS3Event(event, context, ingest),
    );
}

export const handler = createHandler(ingestOnce);
