import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { Context, S3Event } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import type { ContinuationEvent } from '../../src/pipeline/continuation.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { failLedgerSave, failNext } from '../support/faults.ts';
import { type Handler, useLocalStack } from '../support/harness.ts';
import { continuationsSince, rowBudget, taggedCsv } from '../support/longFiles.ts';

const local = useLocalStack();

/**
 * Runs an event and every continuation it hands on, as Lambda's async queue does; an invocation
 * that throws is run again (Lambda's own retry). Returns the errors the first attempts threw.
 */
async function driveWithRetries(
  handler: Handler,
  event: S3Event,
  context: () => Context,
): Promise<{ parts: number; errors: string[] }> {
  const errors: string[] = [];
  const run = async (next: S3Event | ContinuationEvent): Promise<void> => {
    try {
      await handler(structuredClone(next), context());
    } catch (error) {
      errors.push((error as Error).message);
      await handler(structuredClone(next), lambdaContext());
    }
  };
  const seen = local.stack.lambda.invocations.length;
  await run(event);
  let parts = 0;
  for (;;) {
    const next = continuationsSince(local.stack.lambda, seen)[parts];
    if (!next) break;
    parts++;
    await run(next);
  }
  return { parts, errors };
}

async function text(key: string): Promise<string> {
  const out = await local.s3.send(
    new GetObjectCommand({ Bucket: local.stack.names.error, Key: key }),
  );
  return (await out.Body?.transformToString()) ?? '';
}

async function keysUnder(prefix: string): Promise<string[]> {
  const out = await local.s3.send(
    new ListObjectsV2Command({ Bucket: local.stack.names.error, Prefix: prefix }),
  );
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

const EXPECTED_REPORT_LINES = 1 + 6;

describe('Report of a long file: joined once, pieces deleted last', () => {
  it('does not append the pieces again when deleting them failed and the last part is retried', async () => {
    // Prepare: 3,000 rows, one bad row in every 500, read over several parts.
    const event = await local.upload('join/delete-fails.csv', taggedCsv(3_000, 'del'));
    const handler = local.handler({ tweak: (own) => failNext(own.s3, 'DeleteObjectsCommand') });

    // Act
    const { parts, errors } = await driveWithRetries(handler, event, () => rowBudget(2));

    // Assess: the failure happened and was retried; the report has each bad row exactly once.
    expect(parts).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([expect.stringContaining('DeleteObjects')]);
    const lines = (await text('join/delete-fails.errors.csv')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(EXPECTED_REPORT_LINES);
    expect(lines[0]).toBe('line,field,value,error');
    expect(new Set(lines).size).toBe(lines.length);
    expect(local.summariesFor('join/delete-fails.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      }),
    ]);
    expect(await keysUnder('_ingest/parts/')).toEqual([]);
    expect(await keysUnder('join/delete-fails.errors.csv.part-')).toEqual([]);
  }, 120_000);

  it('finishes when the ledger write after the join failed, instead of failing with NoSuchKey forever', async () => {
    // Prepare
    const event = await local.upload('join/ledger-fails.csv', taggedCsv(3_000, 'led'));
    const handler = local.handler({ tweak: (own) => failLedgerSave(own.ddb, 'LOADED') });

    // Act
    const { parts, errors } = await driveWithRetries(handler, event, () => rowBudget(2));

    // Assess
    expect(parts).toBeGreaterThanOrEqual(3);
    expect(errors).toEqual([expect.stringContaining('ledger')]);
    const lines = (await text('join/ledger-fails.errors.csv')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(EXPECTED_REPORT_LINES);
    expect(lines[0]).toBe('line,field,value,error');
    expect(new Set(lines).size).toBe(lines.length);
    expect(local.summariesFor('join/ledger-fails.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      }),
    ]);
    expect(await keysUnder('_ingest/parts/')).toEqual([]);
  }, 120_000);

  it('keeps the pieces of later parts under _ingest/parts/<upload hash>/ and ignores events for them', async () => {
    // Prepare: a long file stopped after two parts, its pieces not yet joined.
    const event = await local.upload('join/pieces.csv', taggedCsv(3_000, 'pcs', 100));
    const handler = local.handler();
    const seen = local.stack.lambda.invocations.length;
    await handler(structuredClone(event), rowBudget(2));
    const [second] = continuationsSince(local.stack.lambda, seen);
    if (!second) throw new Error('expected a continuation');
    await handler(structuredClone(second), rowBudget(2));

    // Act: a batch job (the only way an error-bucket key reaches the pipeline) names a piece.
    const pieces = await keysUnder('_ingest/parts/');
    const { createHandler: createBatchHandler } = await import(
      '../../src/handlers/batchOperations.ts'
    );
    const config = loadConfig(local.stack.env);
    const batch = createBatchHandler(
      createIngestOnce({ clients: createClients(config), config }),
      config,
    );
    const response = await batch(
      {
        invocationSchemaVersion: '2.0',
        invocationId: 'invocation-pieces',
        job: { id: 'job-pieces', userArguments: {} },
        tasks: [
          {
            taskId: 't1',
            s3Bucket: local.stack.names.error,
            s3Key: pieces[0] ?? '',
            s3VersionId: null,
          },
        ],
      },
      lambdaContext(),
    );

    // Assess: part 0's piece and part 1's piece, both in one folder named by the upload's hash.
    expect(pieces).toEqual([
      expect.stringMatching(/^_ingest\/parts\/[0-9a-f]{64}\/00000\.csv$/),
      expect.stringMatching(/^_ingest\/parts\/[0-9a-f]{64}\/00001\.csv$/),
    ]);
    expect(new Set(pieces.map((k) => k.split('/')[2])).size).toBe(1);
    expect(await keysUnder('join/pieces.errors.csv.part-')).toEqual([]);
    expect(response.results).toEqual([
      expect.objectContaining({
        resultCode: 'PermanentFailure',
        resultString: expect.stringMatching(/^OWN_OUTPUT_BUCKET/),
      }),
    ]);
  }, 120_000);
});
