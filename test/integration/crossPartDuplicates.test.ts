import { ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { continuationsSince, rowBudget } from '../support/longFiles.ts';

const events = new Map<string, S3Event>();
let stack: LocalStack;
let s3: S3Client;
let createHandler: typeof import('../../src/handlers/ingest.ts').createHandler;

beforeAll(async () => {
  stack = await LocalStack.start({
    onS3Event: (event) => events.set(event.Records[0]?.s3.object.key ?? '', event),
  });
  Object.assign(process.env, stack.env);
  ({ createHandler } = await import('../../src/handlers/ingest.ts'));
  s3 = stack.s3Client();
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

function handlerWith(env: Record<string, string> = {}) {
  const config = loadConfig({ ...stack.env, ...env });
  return createHandler(createIngestOnce({ clients: createClients(config), config }));
}

async function upload(key: string, body: string): Promise<S3Event> {
  await s3.send(new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }));
  const event = events.get(key);
  if (!event) throw new Error(`no S3 event for ${key}`);
  return event;
}

/** 600 distinct keys, then row 601 repeats the first row's key with other names. */
function repeatedLater(tag: string): string {
  const lines = ['student_id,first_name,last_name,course'];
  for (let i = 0; i < 600; i++)
    lines.push(`R${String(i).padStart(5, '0')},First${i},Last${i},${tag}`);
  lines.push(`R00000,Again,Later,${tag}`);
  return `${lines.join('\n')}\n`;
}

/** Runs an event and every continuation it hands on; returns how many parts ran. */
async function drive(handler: ReturnType<typeof handlerWith>, event: S3Event): Promise<number> {
  const seen = stack.lambda.invocations.length;
  await handler(structuredClone(event), rowBudget(1));
  let parts = 1;
  for (;;) {
    const next = continuationsSince(stack.lambda, seen)[parts - 1];
    if (!next) return parts;
    parts++;
    await handler(next, rowBudget(1));
  }
}

function summaryFor(key: string): Record<string, unknown> | undefined {
  return stack.summaries
    .map((m) => JSON.parse(JSON.parse(m.message).sqs))
    .find((s) => s.source.key === key);
}

async function tableFor(course: string): Promise<Record<string, unknown>[]> {
  const config = loadConfig(stack.env);
  const { ddb } = createClients(config);
  const out = await ddb.send(new ScanCommand({ TableName: stack.names.table }));
  return (out.Items ?? []).filter((item) => item.course === course);
}

describe('Duplicates across the parts of a long file', () => {
  it.each([
    ['skip', 'cross/skip.csv', 'Cross skip'],
    ['strict', 'cross/strict.csv', 'Cross strict'],
  ])(
    'counts a key repeated in a later part as a duplicate (%s policy)',
    async (policy, key, course) => {
      // Prepare
      const event = await upload(key, repeatedLater(course));

      // Act
      const parts = await drive(handlerWith({ ERROR_POLICY: policy }), event);

      // Assess: exact counts for the whole file; the later row won; the key sets are gone.
      expect(parts).toBeGreaterThanOrEqual(3);
      expect(summaryFor(key)).toMatchObject({
        status: 'SUCCEEDED',
        rows: { total: 601, written: 600, rejected: 0, duplicates: 1 },
      });
      const rows = await tableFor(course);
      expect(rows).toHaveLength(600);
      expect(rows.find((r) => r.student_id === 'R00000')).toMatchObject({ first_name: 'Again' });
      const left = await s3.send(
        new ListObjectsV2Command({ Bucket: stack.names.error, Prefix: '_ingest/keys/' }),
      );
      expect(left.Contents ?? []).toEqual([]);
    },
    120_000,
  );
});
