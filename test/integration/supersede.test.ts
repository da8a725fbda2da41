import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { KeyOrder } from '../../src/ledger/KeyOrder.ts';
import { ProgressLedger } from '../../src/ledger/ProgressLedger.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { nextSequencer } from '../../src/local/nextSequencer.ts';
import type { PublishedMessage } from '../../src/local/SnsStandIn.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';
import type { UploadRef } from '../../src/types.ts';
import { failNext } from '../support/faults.ts';

/*
 * An older upload that finds out, while it is already under way, that a newer upload of its name
 * has started (S3 delivers events in no particular order). Runs the pipeline against dynalite
 * and s3rver with the ledger's order record polled at every batch boundary.
 */

const HEADER = 'student_id,first_name,last_name,course';
const published: PublishedMessage[] = [];
let stack: LocalStack;
let s3: S3Client;

beforeAll(async () => {
  stack = await LocalStack.start({ onPublish: (message) => published.push(message) });
  // The SDK clients take their endpoints and region from the environment, as in Lambda.
  Object.assign(process.env, stack.env);
  s3 = stack.s3Client();
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

function csv(tag: string, rows: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++)
    lines.push(`S${String(i).padStart(5, '0')},First${i},Last${i},${tag} course`);
  return `${lines.join('\n')}\n`;
}

async function upload(key: string, body: string): Promise<UploadRef> {
  const out = await s3.send(
    new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }),
  );
  return {
    bucket: stack.names.inbound,
    key,
    eTag: (out.ETag ?? '').replace(/"/g, ''),
    sequencer: nextSequencer(),
  };
}

function pipeline(): { clients: Clients; config: Config; order: KeyOrder; ledger: ProgressLedger } {
  const config = loadConfig(stack.env);
  const clients = createClients(config);
  // Polled at every batch boundary, so the test does not depend on the clock.
  const order = new KeyOrder(clients.ddb, config.idempotencyTable, 0);
  return {
    clients,
    config,
    order,
    ledger: new ProgressLedger(clients.ddb, config.idempotencyTable),
  };
}

async function tableCount(clients: Clients, tag: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.ddb.send(
      new ScanCommand({ TableName: stack.names.table, ExclusiveStartKey }),
    );
    count += (page.Items ?? []).filter((item) => item.course === `${tag} course`).length;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

function summaryOf(key: string): { subject: string; text: string; json: Record<string, unknown> } {
  const mine = published.filter((m) => JSON.parse(m.message).sqs.includes(JSON.stringify(key)));
  expect(mine).toHaveLength(1);
  const parts = JSON.parse(mine[0]?.message ?? '{}') as Record<string, string>;
  return {
    subject: mine[0]?.subject ?? '',
    text: parts.default ?? '',
    json: JSON.parse(parts.sqs ?? '{}'),
  };
}

describe('Function: ingestObject (an older upload overtaken by a newer one of its name)', () => {
  it('stops writing at the next batch boundary once a newer upload has started, and keeps the file apart', async () => {
    // Prepare: a newer upload of the same name starts after the older one's second batch.
    const { clients, config, order, ledger } = pipeline();
    const key = 'overtaken/while loading.csv';
    const older = await upload(key, csv('overtaken', 5_000));
    const newer: UploadRef = { ...older, eTag: 'newer', sequencer: nextSequencer() };
    let batches = 0;
    clients.writes.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'BatchWriteItemCommand' && ++batches === 2) {
          expect(await order.claim(newer)).toBe(true);
        }
        return out;
      },
      { step: 'initialize', name: 'newerUploadStarts' },
    );

    // Act
    const outcome = await ingestObject(older, {
      clients,
      config,
      ledger,
      keyOrder: order,
      remainingTimeMs: () => 900_000,
    });

    // Assess: it stopped early, and every row it counted as written is in the table.
    expect(outcome).toMatchObject({ kind: 'processed', result: { status: 'SUPERSEDED' } });
    if (outcome.kind !== 'processed') throw new Error('not processed');
    const { rows } = outcome.result;
    expect(rows.written).toBeGreaterThan(0);
    expect(rows.written).toBeLessThan(5_000);
    expect(await tableCount(clients, 'overtaken')).toBe(rows.written);
    // The file is kept, apart from failed files and never as the archive's copy.
    expect(await exists(stack.names.archive, key)).toBe(false);
    expect(await exists(stack.names.inbound, key)).toBe(false);
    const kept = await s3.send(
      new GetObjectCommand({ Bucket: stack.names.error, Key: `superseded/${key}` }),
    );
    expect(await kept.Body?.transformToString()).toBe(csv('overtaken', 5_000));
    expect(kept.Metadata).toMatchObject({ 'source-sequencer': older.sequencer });
    const summary = summaryOf(key);
    expect(summary.subject).toBe('[SUPERSEDED] while loading.csv: a newer upload replaced it');
    expect(summary.text).toContain('SUPERSEDED by a newer upload of the same name');
    expect(summary.text).toContain(`${rows.written} rows were written before it stopped.`);
    expect(summary.json).toMatchObject({
      status: 'SUPERSEDED',
      destination: { bucket: stack.names.error, key: `superseded/${key}` },
      rows,
    });
  });

  it('does not make a loaded upload the archived copy when a newer one started before its move', async () => {
    // Prepare: the first attempt loads every row, then its copy fails (Lambda will retry).
    const { clients, config, order, ledger } = pipeline();
    const key = 'overtaken/before the move.csv';
    const older = await upload(key, csv('before-move', 40));
    failNext(clients.s3, 'CopyObjectCommand');
    const context = { clients, config, ledger, keyOrder: order, remainingTimeMs: () => 900_000 };
    await expect(ingestObject(older, context)).rejects.toThrow(/CopyObject/);
    expect(await tableCount(clients, 'before-move')).toBe(40);

    // Act: a newer upload of the name starts before the retry.
    expect(await order.claim({ ...older, eTag: 'newer', sequencer: nextSequencer() })).toBe(true);
    const outcome = await ingestObject(older, context);

    // Assess: its rows stay counted as loaded, but the file goes apart, not to the archive.
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: {
        status: 'SUPERSEDED',
        rows: { total: 40, written: 40 },
        destination: { bucket: stack.names.error, key: `superseded/${key}` },
      },
    });
    expect(await exists(stack.names.archive, key)).toBe(false);
    expect(await exists(stack.names.error, `superseded/${key}`)).toBe(true);
    expect(summaryOf(key).json.status).toBe('SUPERSEDED');
  });

  it('is not ordered for S3 Batch Operations tasks: a reprocessing job is a deliberate reload', async () => {
    // Prepare: a newer upload of the name is on record.
    const { clients, config, order, ledger } = pipeline();
    const key = 'overtaken/batch job.csv';
    const older = await upload(key, csv('batch-job', 3));
    expect(await order.claim({ ...older, sequencer: nextSequencer() })).toBe(true);

    // Act
    const outcome = await ingestObject(
      { ...older, jobId: 'job-1', sequencer: undefined },
      { clients, config, ledger, keyOrder: order, remainingTimeMs: () => 900_000 },
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'processed', result: { status: 'SUCCEEDED' } });
    expect(await tableCount(clients, 'batch-job')).toBe(3);
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: stack.names.error, Prefix: 'superseded/overtaken/batch' }),
    );
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('refuses to reprocess a superseded upload from the error bucket: it would load old rows over newer ones', async () => {
    // Prepare
    const { clients, config, order, ledger } = pipeline();
    const key = 'superseded/overtaken/kept.csv';
    await s3.send(
      new PutObjectCommand({ Bucket: stack.names.error, Key: key, Body: csv('kept', 2) }),
    );

    // Act: an S3 Batch Operations task over the error bucket.
    const outcome = await ingestObject(
      { bucket: stack.names.error, key, jobId: 'job-2' },
      { clients, config, ledger, keyOrder: order, remainingTimeMs: () => 900_000 },
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(await tableCount(clients, 'kept')).toBe(0);
    expect(await exists(stack.names.error, key)).toBe(true);
  });

  it('stops a long file between two parts when a newer upload started meanwhile, keeping the report so far', async () => {
    // Prepare: part 0 reads about 768 rows (3 looks at the clock), with rejected rows among them.
    const { clients, config, order, ledger } = pipeline();
    const key = 'overtaken/between parts.csv';
    const lines = csv('between', 3_000).split('\n');
    lines[10] = 'bad-row,First,Last,between course';
    const body = lines.join('\n');
    const older = await upload(key, body);
    let looks = 0;
    const first = await ingestObject(older, {
      clients,
      config,
      ledger,
      keyOrder: order,
      remainingTimeMs: () => (looks++ < 3 ? 900_000 : 1_000),
    });
    expect(first).toMatchObject({ kind: 'continued', part: 1 });

    // Act: a newer upload of the name starts before part 1 runs.
    expect(await order.claim({ ...older, eTag: 'newer', sequencer: nextSequencer() })).toBe(true);
    const outcome = await ingestObject(older, {
      clients,
      config,
      ledger,
      keyOrder: order,
      remainingTimeMs: () => 900_000,
    });

    // Assess: part 1 wrote nothing; the counts and the report are part 0's.
    if (outcome.kind !== 'processed') throw new Error(`not processed: ${outcome.kind}`);
    expect(outcome.result).toMatchObject({
      status: 'SUPERSEDED',
      destination: { bucket: stack.names.error, key: `superseded/${key}` },
      report: { bucket: stack.names.error, key: 'overtaken/between parts.errors.csv' },
    });
    const { rows } = outcome.result;
    expect(rows.rejected).toBe(1);
    expect(rows.total).toBeLessThan(3_000);
    expect(await tableCount(clients, 'between')).toBe(rows.written);
    const report = await s3.send(
      new GetObjectCommand({
        Bucket: stack.names.error,
        Key: 'overtaken/between parts.errors.csv',
      }),
    );
    expect(await report.Body?.transformToString()).toMatch(/^11,student_id,bad-row,/m);
    expect(await exists(stack.names.error, `superseded/${key}`)).toBe(true);
    expect(await exists(stack.names.inbound, key)).toBe(false);
  });
});
