import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import event1 from '../../../events/batch-ops-1.0.json' with { type: 'json' };
import event2 from '../../../events/batch-ops-2.0.json' with { type: 'json' };
import type { BatchEvent } from '../../../src/batch/types.ts';
import { InfrastructureError } from '../../../src/errors.ts';
import { lambdaContext } from '../../../src/local/lambdaContext.ts';
import type { IngestOptions } from '../../../src/pipeline/ingestObject.ts';
import type { IngestOnce } from '../../../src/pipeline/ingestOnce.ts';
import type { IngestOutcome, UploadRef } from '../../../src/types.ts';

let createHandler: typeof import('../../../src/handlers/batchOperations.ts').createHandler;

beforeAll(async () => {
  // The module reads its configuration at import, as on a cold start; nothing here is called.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    TABLE_NAME: 'students',
    IDEMPOTENCY_TABLE: 'ledger',
    ARCHIVE_BUCKET: 'archive',
    ERROR_BUCKET: 'errors',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:summaries',
  });
  ({ createHandler } = await import('../../../src/handlers/batchOperations.ts'));
});

interface Call {
  upload: UploadRef;
  options: Partial<IngestOptions> | undefined;
}

/** Records what the pipeline was asked to do and answers with the given outcome (or throws). */
function recordingIngest(answer: (upload: UploadRef) => IngestOutcome): {
  ingest: IngestOnce;
  calls: Call[];
} {
  const calls: Call[] = [];
  const ingest: IngestOnce = async (upload, _lambda: Context, options) => {
    calls.push({ upload, options });
    return answer(upload);
  };
  return { ingest, calls };
}

const loaded = (upload: UploadRef): IngestOutcome => ({
  kind: 'processed',
  result: {
    status: 'SUCCEEDED',
    source: { bucket: upload.bucket, key: upload.key },
    destination: null,
    report: null,
    rows: { total: 3, written: 3, rejected: 0, duplicates: 0 },
    errors: [],
    fileError: null,
    durationMs: 1,
  },
});

const copy = (event: object): BatchEvent => structuredClone(event) as BatchEvent;

describe('Function: handler (batch operations)', () => {
  it('decodes a schema 1.0 key (`+` a space, `%2B` a plus, UTF-8) and answers with the ids it got', async () => {
    // Prepare
    const { ingest, calls } = recordingIngest(loaded);
    const handler = createHandler(ingest, { errorPolicy: 'skip' });

    // Act
    const response = await handler(copy(event1), lambdaContext());

    // Assess
    expect(calls).toEqual([
      {
        upload: {
          bucket: 'inbound',
          key: 'fall 2024/roster+waitlist été.csv',
          versionId: undefined,
          jobId: 'f3cc4f60-61f6-4a2b-8a21-d07600c373ce',
        },
        options: { move: false, notify: false, errorPolicy: 'skip' },
      },
    ]);
    expect(response).toEqual({
      invocationSchemaVersion: '1.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: event1.invocationId,
      results: [
        {
          taskId: 'dGFza2lkZ29lc2hlcmUK',
          resultCode: 'Succeeded',
          resultString: 'SUCCEEDED: 3 rows loaded',
        },
      ],
    });
  });

  it('decodes a schema 2.0 key (`%20`, `+`, `%2B`, a 4-byte character) and applies userArguments', async () => {
    const { ingest, calls } = recordingIngest(loaded);
    const handler = createHandler(ingest, { errorPolicy: 'strict' });
    const event = copy(event2);
    event.job.userArguments = { move: 'true', notify: 'true' };

    const response = await handler(event, lambdaContext());

    expect(calls[0]?.upload.key).toBe('spring 2025/José Núñez+co 📚.csv');
    expect(calls[0]?.upload.bucket).toBe('inbound');
    expect(calls[0]?.options).toEqual({ move: true, notify: true, errorPolicy: 'strict' });
    expect(response.invocationSchemaVersion).toBe('2.0');
    expect(response.results[0]?.resultCode).toBe('Succeeded');
  });

  it('fails every task of a job with unknown userArguments, naming them, without touching a file', async () => {
    const { ingest, calls } = recordingIngest(loaded);
    const handler = createHandler(ingest, { errorPolicy: 'skip' });
    const event = copy(event2);
    event.job.userArguments = { move: 'true', overwrite: 'true' };

    const response = await handler(event, lambdaContext());

    expect(calls).toEqual([]);
    expect(response.results).toEqual([
      {
        taskId: 'dGFza2lkZ29lc2hlcmUK',
        resultCode: 'PermanentFailure',
        resultString:
          'Invalid userArguments: unknown argument "overwrite" (expected move, notify, policy)',
      },
    ]);
  });

  it('answers TemporaryFailure instead of throwing when the pipeline hits a transient fault', async () => {
    const handler = createHandler(
      async () => {
        throw new InfrastructureError('BatchWriteItem to students still failing after 10 attempts');
      },
      { errorPolicy: 'skip' },
    );

    const response = await handler(copy(event2), lambdaContext());

    expect(response.results[0]).toMatchObject({ resultCode: 'TemporaryFailure' });
  });

  it('answers one result per task, in order', async () => {
    const { ingest, calls } = recordingIngest((upload) =>
      upload.key.endsWith('.csv')
        ? loaded(upload)
        : { kind: 'skipped', reason: 'NOT_CSV', detail: `${upload.key} is not a .csv file` },
    );
    const handler = createHandler(ingest, { errorPolicy: 'skip' });
    const event = copy(event2);
    const [task] = event2.tasks;
    event.tasks = [
      { ...task, taskId: 't1', s3Key: 'a.csv' },
      { ...task, taskId: 't2', s3Key: 'notes.txt' },
    ] as BatchEvent['tasks'];

    const response = await handler(event, lambdaContext());

    expect(calls.map((c) => c.upload.key)).toEqual(['a.csv', 'notes.txt']);
    expect(response.results.map((r) => [r.taskId, r.resultCode, r.resultString])).toEqual([
      ['t1', 'Succeeded', 'SUCCEEDED: 3 rows loaded'],
      ['t2', 'PermanentFailure', 'NOT_CSV: notes.txt is not a .csv file'],
    ]);
  });

  it('throws on an event that is not S3 Batch Operations’, having no task id to answer', async () => {
    const handler = createHandler(recordingIngest(loaded).ingest, { errorPolicy: 'skip' });
    const event = { ...copy(event2), invocationSchemaVersion: '9.9' };

    await expect(handler(event, lambdaContext())).rejects.toThrow(
      'Unsupported invocationSchemaVersion',
    );
  });
});
