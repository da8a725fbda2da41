import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { KeyOrder } from '../../src/ledger/KeyOrder.ts';
import { ProgressLedger } from '../../src/ledger/ProgressLedger.ts';
import { nextSequencer } from '../../src/local/nextSequencer.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';
import type { UploadRef } from '../../src/types.ts';
import { failNext } from '../support/faults.ts';
import { type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * An older upload that finds out, while it is already under way, that a newer upload of its name
 * has started (S3 delivers events in no particular order). Runs the pipeline against dynalite
 * and s3rver with the ledger's order record polled at every batch boundary.
 */

const HEADER = 'student_id,first_name,last_name,course';
const local = useLocalStack();

function csv(tag: string, rows: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++)
    lines.push(`S${String(i).padStart(5, '0')},First${i},Last${i},${tag} course`);
  return `${lines.join('\n')}\n`;
}

async function upload(key: string, body: string): Promise<UploadRef> {
  const { eTag } = await local.put(key, body);
  return { bucket: local.names.inbound, key, eTag, sequencer: nextSequencer() };
}

function pipeline(): { clients: Clients; config: Config; order: KeyOrder; ledger: ProgressLedger } {
  const config = loadConfig(local.stack.env);
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

async function tableCount(tag: string): Promise<number> {
  return (await local.items((item) => item.course === `${tag} course`)).length;
}

function summaryOf(key: string): SummaryMessage {
  const mine = local.messagesFor(key);
  expect(mine).toHaveLength(1);
  return mine[0] as SummaryMessage;
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
    expect(await tableCount('overtaken')).toBe(rows.written);
    // The file is kept, apart from failed files and never as the archive's copy.
    expect(await local.exists(local.names.archive, key)).toBe(false);
    expect(await local.exists(local.names.inbound, key)).toBe(false);
    const kept = await local.s3.send(
      new GetObjectCommand({ Bucket: local.names.error, Key: `superseded/${key}` }),
    );
    expect(await kept.Body?.transformToString()).toBe(csv('overtaken', 5_000));
    expect(kept.Metadata).toMatchObject({ 'source-sequencer': older.sequencer });
    const summary = summaryOf(key);
    expect(summary.published.subject).toBe(
      '[SUPERSEDED] while loading.csv: a newer upload replaced it',
    );
    expect(summary.parts.default).toContain('SUPERSEDED by a newer upload of the same name');
    expect(summary.parts.default).toContain(`${rows.written} rows were written before it stopped.`);
    expect(summary.json).toMatchObject({
      status: 'SUPERSEDED',
      destination: { bucket: local.names.error, key: `superseded/${key}` },
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
    expect(await tableCount('before-move')).toBe(40);

    // Act: a newer upload of the name starts before the retry.
    expect(await order.claim({ ...older, eTag: 'newer', sequencer: nextSequencer() })).toBe(true);
    const outcome = await ingestObject(older, context);

    // Assess: its rows stay counted as loaded, but the file goes apart, not to the archive.
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: {
        status: 'SUPERSEDED',
        rows: { total: 40, written: 40 },
        destination: { bucket: local.names.error, key: `superseded/${key}` },
      },
    });
    expect(await local.exists(local.names.archive, key)).toBe(false);
    expect(await local.exists(local.names.error, `superseded/${key}`)).toBe(true);
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
    expect(await tableCount('batch-job')).toBe(3);
    const listed = await local.s3.send(
      new ListObjectsV2Command({ Bucket: local.names.error, Prefix: 'superseded/overtaken/batch' }),
    );
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('refuses to reprocess a superseded upload from the error bucket: it would load old rows over newer ones', async () => {
    // Prepare
    const { clients, config, order, ledger } = pipeline();
    const key = 'superseded/overtaken/kept.csv';
    await local.put(key, csv('kept', 2), local.names.error);

    // Act: an S3 Batch Operations task over the error bucket.
    const outcome = await ingestObject(
      { bucket: local.names.error, key, jobId: 'job-2' },
      { clients, config, ledger, keyOrder: order, remainingTimeMs: () => 900_000 },
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(await tableCount('kept')).toBe(0);
    expect(await local.exists(local.names.error, key)).toBe(true);
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
      destination: { bucket: local.names.error, key: `superseded/${key}` },
      report: { bucket: local.names.error, key: 'overtaken/between parts.errors.csv' },
    });
    const { rows } = outcome.result;
    expect(rows.rejected).toBe(1);
    expect(rows.total).toBeLessThan(3_000);
    expect(await tableCount('between')).toBe(rows.written);
    const report = await local.s3.send(
      new GetObjectCommand({
        Bucket: local.names.error,
        Key: 'overtaken/between parts.errors.csv',
      }),
    );
    expect(await report.Body?.transformToString()).toMatch(/^11,student_id,bad-row,/m);
    expect(await local.exists(local.names.error, `superseded/${key}`)).toBe(true);
    expect(await local.exists(local.names.inbound, key)).toBe(false);
  });
});
