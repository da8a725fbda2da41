import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { InfrastructureError } from '../../src/errors.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { CapacityProxy } from '../support/capacity.ts';

const HEADER = 'student_id,first_name,last_name,course';
const events = new Map<string, S3Event>();
const proxies: CapacityProxy[] = [];
let stack: LocalStack;
let s3: S3Client;
/** Reads the table from dynalite itself, whatever the proxies do. */
let table: DynamoDBDocumentClient;
let createHandler: typeof import('../../src/handlers/ingest.ts').createHandler;

beforeAll(async () => {
  stack = await LocalStack.start({
    onS3Event: (event) => events.set(event.Records[0]?.s3.object.key ?? '', event),
  });
  Object.assign(process.env, stack.env);
  ({ createHandler } = await import('../../src/handlers/ingest.ts'));
  table = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1' }),
  );
  s3 = stack.s3Client();
}, 120_000);

afterEach(async () => {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = stack.endpoints.dynamodb;
  for (const proxy of proxies.splice(0)) await proxy.close();
});

afterAll(async () => {
  s3?.destroy();
  table?.destroy();
  await stack?.stop();
});

type Handler = ReturnType<typeof createHandler>;

/** A table of `unitsPerSecond` write units in front of dynalite, at the wire. */
async function capacity(unitsPerSecond: number): Promise<CapacityProxy> {
  const proxy = await CapacityProxy.start({
    table: stack.names.table,
    unitsPerSecond,
    upstream: stack.endpoints.dynamodb,
  });
  proxies.push(proxy);
  return proxy;
}

/**
 * The real handler with its own clients, every DynamoDB call going through `proxy` (the SDK
 * reads AWS_ENDPOINT_URL_DYNAMODB as it sends; afterEach puts dynalite's back).
 */
function handlerBehind(proxy: CapacityProxy, env: Record<string, string> = {}): Handler {
  const config = loadConfig({ ...stack.env, ...env });
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  const own = createClients(config);
  // The writer's last second before the deadline is its own: short test invocations need less.
  return createHandler(
    createIngestOnce({ clients: own, config, retryBudget: { safetyMarginMs: 1_000 } }),
  );
}

function csv(tag: string, rows: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++)
    lines.push(`A${String(i).padStart(5, '0')},First${i},Last${i},${tag} course`);
  return `${lines.join('\n')}\n`;
}

async function upload(key: string, body: string): Promise<S3Event> {
  await s3.send(new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }));
  const event = events.get(key);
  if (!event) throw new Error(`no S3 event for ${key}`);
  return event;
}

/** Runs an event, then every continuation it hands on, like Lambda's async queue. */
async function drive(
  handler: Handler,
  event: S3Event | ContinuationEvent,
  context: () => Context,
): Promise<number> {
  const seen = stack.lambda.invocations.length;
  await handler(structuredClone(event), context());
  let runs = 0;
  while (stack.lambda.invocations.length > seen + runs) {
    const next: unknown = JSON.parse(stack.lambda.invocations[seen + runs]?.payload ?? 'null');
    runs++;
    if (!isContinuationEvent(next)) throw new Error('unexpected invocation');
    await handler(next, context());
  }
  return runs;
}

async function rowsFor(tag: string): Promise<number> {
  let count = 0;
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await table.send(
      new ScanCommand({ TableName: stack.names.table, ExclusiveStartKey }),
    );
    count += (page.Items ?? []).filter((item) => item.course === `${tag} course`).length;
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return count;
}

function summariesFor(key: string): Record<string, unknown>[] {
  return stack.summaries
    .map((m) => ({ ...JSON.parse(JSON.parse(m.message).sqs), text: JSON.parse(m.message).email }))
    .filter((s) => s.source.key === key);
}

async function exists(bucket: string, key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );
}

describe('Capacity: a table slower than the loader', () => {
  it('loads a file into a 50 units/s table through continuations: every part succeeds, counts exact', async () => {
    // Prepare: 600 rows at 50 rows/s is 12 s of writing, in invocations of 9 s. The margin of
    // 2.5 s is shorter than a throttled window takes to drain at 50 items/s (the writer keeps up
    // to 2 s of writes in flight, plus a batch being filled, and gives up 1 s before the end):
    // each part must stop reading early enough for its queued writes, not just the margin.
    const proxy = await capacity(50);
    const handler = handlerBehind(proxy, { CONTINUATION_MARGIN_MS: '2500' });
    const event = await upload('capacity/slow.csv', csv('slow', 600));

    // Act
    const continuations = await drive(handler, event, () => lambdaContext(9_000));

    // Assess
    expect(continuations).toBeGreaterThanOrEqual(1);
    expect(proxy.stats.throttled + proxy.stats.partial).toBeGreaterThan(0);
    // Every item was accepted exactly once: a drained window is neither lost nor written twice.
    expect(proxy.stats.accepted).toBe(600);
    expect(await rowsFor('slow')).toBe(600);
    const summaries = summariesFor('capacity/slow.csv');
    expect(summaries).toEqual([
      expect.objectContaining({
        status: 'SUCCEEDED',
        rows: { total: 600, written: 600, rejected: 0, duplicates: 0 },
      }),
    ]);
    // The write stats of every part were carried to the last one: every call the table saw.
    const writes = summaries[0]?.writes as Record<string, number>;
    expect(writes).toEqual({
      calls: proxy.stats.calls,
      throttled: proxy.stats.throttled + proxy.stats.partial,
      rejected: proxy.stats.throttled,
      rowsPerSecond: expect.any(Number),
    });
    expect(writes.rowsPerSecond).toBeGreaterThan(20);
    expect(writes.rowsPerSecond).toBeLessThan(60);
    expect(summaries[0]?.text).toMatch(
      /DynamoDB throttled \d+% of writes; the load took 1\d s at about \d+(\.\d)? rows\/s\./,
    );
    expect(await exists(stack.names.archive, 'capacity/slow.csv')).toBe(true);
    expect(await exists(stack.names.inbound, 'capacity/slow.csv')).toBe(false);
  }, 60_000);

  it('lets two loaders share a 100 units/s table: both finish, with exact counts', async () => {
    // Prepare
    const proxy = await capacity(100);
    const first = await upload('capacity/first.csv', csv('first', 500));
    const second = await upload('capacity/second.csv', csv('second', 500));
    const started = performance.now();

    // Act
    await Promise.all([
      drive(handlerBehind(proxy), first, () => lambdaContext()),
      drive(handlerBehind(proxy), second, () => lambdaContext()),
    ]);

    // Assess: 1,000 rows at 100 units/s (plus the first second's burst) take about 9 s
    const seconds = (performance.now() - started) / 1000;
    expect(proxy.stats.accepted).toBe(1_000);
    expect(seconds).toBeGreaterThan(8);
    for (const tag of ['first', 'second']) {
      expect(await rowsFor(tag)).toBe(500);
      expect(summariesFor(`capacity/${tag}.csv`)).toEqual([
        expect.objectContaining({
          status: 'SUCCEEDED',
          rows: { total: 500, written: 500, rejected: 0, duplicates: 0 },
        }),
      ]);
    }
  }, 60_000);

  it('fails the invocation with a clear error when the table accepts nothing for WRITE_STALL_MS', async () => {
    // Prepare
    const proxy = await capacity(0);
    proxy.bucket.setRate(0);
    const handler = handlerBehind(proxy, { WRITE_STALL_MS: '1500' });
    const event = await upload('capacity/stalled.csv', csv('stalled', 100));

    // Act
    const error = await handler(structuredClone(event), lambdaContext()).then(
      () => null,
      (e: unknown) => e,
    );

    // Assess
    expect(error).toBeInstanceOf(InfrastructureError);
    expect((error as Error).message).toMatch(
      /^BatchWriteItem to students: the table accepted no item for 1\.\d s \(WRITE_STALL_MS is 1500 ms\); \d+ items not written: The level of configured provisioned throughput/,
    );
    expect((error as InfrastructureError).transient).toBe(true);
    expect(proxy.stats.accepted).toBe(0);
    expect(await exists(stack.names.inbound, 'capacity/stalled.csv')).toBe(true);
    expect(summariesFor('capacity/stalled.csv')).toHaveLength(0);
  }, 30_000);
});
