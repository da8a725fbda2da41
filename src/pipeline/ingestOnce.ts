import type { JSONValue } from '@aws-lambda-powertools/commons/types';
import { IdempotencyConfig, makeIdempotent } from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { Context } from 'aws-lambda';
import { KeyOrder } from '../ledger/KeyOrder.ts';
import { ProgressLedger, uploadIdentity } from '../ledger/ProgressLedger.ts';
import type { IngestOutcome, UploadRef } from '../types.ts';
import type { IngestContext } from './context.ts';
import { ingestObject } from './ingestObject.ts';
import { latestOutcome } from './latestOutcome.ts';

/** How long a finished upload is remembered by Powertools (the progress ledger keeps longer). */
const COMPLETED_TTL_SECONDS = 24 * 3600;

export type IngestOnce = (
  upload: UploadRef,
  lambda: Context,
  overrides?: IngestContext['options'],
  /** Which part of a long file this invocation continues (0: the one the event started). */
  part?: number,
) => Promise<IngestOutcome>;

/**
 * Wraps the pipeline with Powertools idempotency, keyed on the upload (bucket, key, version or
 * sequencer or ETag, batch job): a redelivered event returns the stored outcome; a concurrent
 * duplicate gets IdempotencyAlreadyInProgressError, which the handlers end quietly (see
 * isDuplicateInProgress); a crashed attempt's lock expires with the invocation's deadline, and
 * its own retry resumes from the progress ledger.
 */
export function createIngestOnce(
  base: Omit<IngestContext, 'remainingTimeMs' | 'ledger'>,
): IngestOnce {
  const ledger = new ProgressLedger(base.clients.ddb, base.config.idempotencyTable);
  const keyOrder = base.keyOrder ?? new KeyOrder(base.clients.ddb, base.config.idempotencyTable);
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: base.config.idempotencyTable,
  });
  const config = new IdempotencyConfig({
    expiresAfterSeconds: COMPLETED_TTL_SECONDS,
    eventKeyJmesPath: 'identity',
    // A stored outcome handed back for a redelivered event is marked, so it is not counted twice.
    responseHook: (response) => ({ ...(response as object), replayed: true }) as JSONValue,
  });

  const run = makeIdempotent(
    async (
      task: { identity: string; upload: UploadRef; options?: IngestContext['options'] },
      remainingTimeMs: () => number,
    ): Promise<IngestOutcome> =>
      ingestObject(task.upload, {
        ...base,
        ledger,
        keyOrder,
        remainingTimeMs,
        options: { ...base.options, ...task.options },
      }),
    { persistenceStore, config, keyPrefix: 's3-csv-ingest' },
  );

  return (upload, lambda, overrides, part = 0) => {
    // Ties the in-progress lock to this invocation's deadline.
    config.registerLambdaContext(lambda);
    // Each part of a long file is its own unit of work: a redelivered part is a no-op too.
    const identity = part === 0 ? uploadIdentity(upload) : `${uploadIdentity(upload)}#part-${part}`;
    return run({ identity, upload, options: overrides }, () =>
      lambda.getRemainingTimeInMillis(),
    ).then((outcome) => latestOutcome(ledger, upload, outcome));
  };
}
