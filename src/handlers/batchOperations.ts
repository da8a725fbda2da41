import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import eventNormalizer from '@middy/event-normalizer';
import type { Context } from 'aws-lambda';
import { parseBatchEvent } from '../batch/parseBatchEvent.ts';
import { parseUserArguments } from '../batch/parseUserArguments.ts';
import { toTaskResult } from '../batch/toTaskResult.ts';
import type { BatchEvent, BatchResponse, BatchTaskResult } from '../batch/types.ts';
import { createClients } from '../clients.ts';
import { type Config, loadConfig } from '../config.ts';
import { DATASET_LOG_KEY, logger, metrics, recordOutcome } from '../observability.ts';
import { type ContinuationEvent, isContinuationEvent } from '../pipeline/continuation.ts';
import { createIngestOnce, type IngestOnce } from '../pipeline/ingestOnce.ts';
import type { IngestOutcome } from '../types.ts';
import { processContinuation } from './processContinuation.ts';

// Cold start: a missing setting fails here, naming the variable, before any event is touched.
const config = loadConfig();
const clients = createClients(config);
// A file too long for one invocation goes on in a new invocation of this function (a continuation
// event); the task answers TemporaryFailure with a CONTINUED result until S3 Batch Operations,
// asking again, finds the file finished, and the logs (and the summary, with notify) tell how it
// ended.
const ingestOnce = createIngestOnce({ clients, config });

/**
 * Runs each task of an invocation through the same pipeline as the S3-event handler, with the
 * job's userArguments as options, and answers one result per task. Never throws for a task:
 * every outcome, including an infrastructure failure, becomes a result code S3 acts on.
 */
export async function processBatchEvent(
  event: BatchEvent,
  lambda: Context,
  ingest: IngestOnce,
  defaults: Pick<Config, 'errorPolicy'>,
): Promise<BatchResponse> {
  const invocation = parseBatchEvent(event);
  let options: ReturnType<typeof parseUserArguments> | undefined;
  let invalid: unknown;
  try {
    options = parseUserArguments(invocation.userArguments, defaults);
  } catch (error) {
    invalid = error;
  }

  const results: BatchTaskResult[] = [];
  for (const { taskId, upload } of invocation.tasks) {
    logger.appendKeys({ bucket: upload.bucket, key: upload.key, jobId: invocation.jobId, taskId });
    let settled: PromiseSettledResult<IngestOutcome> = { status: 'rejected', reason: invalid };
    if (options) {
      try {
        settled = { status: 'fulfilled', value: await ingest(upload, lambda, options) };
      } catch (error) {
        settled = { status: 'rejected', reason: error };
      }
    }
    if (settled.status === 'fulfilled') recordOutcome(upload, settled.value);
    const result = toTaskResult(taskId, settled);
    if (settled.status === 'fulfilled' && settled.value.kind === 'continued') {
      logger.info('Batch task continues in a new invocation', { reason: result.resultString });
    } else if (result.resultCode !== 'Succeeded') {
      logger.warn('Batch task failed', {
        resultCode: result.resultCode,
        reason: result.resultString,
      });
    }
    results.push(result);
    logger.removeKeys(['bucket', 'key', 'jobId', 'taskId', DATASET_LOG_KEY]);
  }
  return {
    invocationSchemaVersion: invocation.schemaVersion,
    treatMissingKeysAs: 'PermanentFailure',
    invocationId: invocation.invocationId,
    results,
  };
}

/** A batch invocation gets its task results; a continuation (asynchronous) gets nothing. */
type BatchHandler = {
  (event: BatchEvent, context: Context): Promise<BatchResponse>;
  (event: ContinuationEvent, context: Context): Promise<undefined>;
};

/** The middy-wrapped Lambda handler around an ingest function (tests pass one with their own clients). */
export function createHandler(ingest: IngestOnce, defaults: Pick<Config, 'errorPolicy'>) {
  const instance = middy<
    BatchEvent | ContinuationEvent,
    BatchResponse | undefined,
    Error,
    Context
  >()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(logMetrics(metrics))
    // URL-decodes tasks[].s3Key (`+` is a space, `%2B` a plus), once, before the handler runs.
    .use(eventNormalizer())
    .handler(async (event, context) => {
      if (!isContinuationEvent(event)) return processBatchEvent(event, context, ingest, defaults);
      await processContinuation(event, context, ingest);
      return undefined;
    });
  return instance as BatchHandler & typeof instance;
}

export const handler = createHandler(ingestOnce, config);
