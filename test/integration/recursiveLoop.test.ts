import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { RECURSION_LIMIT } from '../../src/local/LambdaStandIn.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { rowBudget, taggedCsv } from '../support/longFiles.ts';

const events = new Map<string, S3Event>();
let stack: LocalStack;
let s3: S3Client;
let handler: ReturnType<typeof import('../../src/handlers/ingest.ts').createHandler> | null = null;

beforeAll(async () => {
  stack = await LocalStack.start({
    onS3Event: (event) => events.set(event.Records[0]?.s3.object.key ?? '', event),
    // The stand-in runs each continuation as Lambda's async queue does, 256 rows a part.
    onInvoke: (_name, payload) => handler?.(JSON.parse(payload), rowBudget(1)),
  });
  Object.assign(process.env, stack.env);
  s3 = stack.s3Client();
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

async function useHandler(env: Record<string, string> = {}): Promise<NonNullable<typeof handler>> {
  const { createHandler } = await import('../../src/handlers/ingest.ts');
  const config = loadConfig({ ...stack.env, ...env });
  handler = createHandler(createIngestOnce({ clients: createClients(config), config }));
  return handler;
}

async function upload(key: string, body: string): Promise<S3Event> {
  await s3.send(new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }));
  const event = events.get(key);
  if (!event) throw new Error(`no S3 event for ${key}`);
  return event;
}

function summariesFor(key: string): Record<string, unknown>[] {
  return stack.summaries
    .map((m) => JSON.parse(JSON.parse(m.message).sqs))
    .filter((s) => s.source.key === key);
}

const partsOf = (key: string, list: { payload: string }[]): ContinuationEvent[] =>
  list
    .map((i): unknown => JSON.parse(i.payload))
    .filter((e): e is ContinuationEvent => isContinuationEvent(e) && e.upload.key === key);

async function inInbound(key: string): Promise<boolean> {
  return s3.send(new HeadObjectCommand({ Bucket: stack.names.inbound, Key: key })).then(
    () => true,
    () => false,
  );
}

/** 6,000 rows: more than 20 parts of 256 rows. */
const LONG = taggedCsv(6_000, 'loop', 1_000);

describe('Long files and Lambda recursive loop detection', () => {
  it(`drops part ${RECURSION_LIMIT + 1} of a long file under Terminate (what Lambda does)`, async () => {
    // Prepare
    stack.lambda.recursiveLoop = 'Terminate';
    const run = await useHandler();
    const event = await upload('loop/terminate.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await stack.lambda.settled();

    // Assess: parts 1–16 ran, part 17 was dropped: the file is stuck half loaded.
    expect(partsOf('loop/terminate.csv', stack.lambda.invocations).map((e) => e.part)).toEqual(
      Array.from({ length: RECURSION_LIMIT }, (_, i) => i + 1),
    );
    expect(partsOf('loop/terminate.csv', stack.lambda.dropped).map((e) => e.part)).toEqual([
      RECURSION_LIMIT + 1,
    ]);
    expect(summariesFor('loop/terminate.csv')).toEqual([]);
    expect(await inInbound('loop/terminate.csv')).toBe(true);
  }, 120_000);

  it('finishes a file of more than 20 parts under Allow (as deployed)', async () => {
    // Prepare
    stack.lambda.recursiveLoop = 'Allow';
    const run = await useHandler();
    const event = await upload('loop/allow.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await stack.lambda.settled();

    // Assess
    expect(partsOf('loop/allow.csv', stack.lambda.invocations).length).toBeGreaterThan(20);
    expect(partsOf('loop/allow.csv', stack.lambda.dropped)).toEqual([]);
    expect(summariesFor('loop/allow.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 6_000, written: 5_994, rejected: 6, duplicates: 0 },
      }),
    ]);
    expect(await inInbound('loop/allow.csv')).toBe(false);
  }, 120_000);

  it('ends a file that needs more than MAX_PARTS parts with a file error, never looping on', async () => {
    // Prepare
    stack.lambda.recursiveLoop = 'Allow';
    const run = await useHandler({ MAX_PARTS: '5' });
    const event = await upload('loop/limit.csv', LONG);

    // Act
    await run(structuredClone(event), rowBudget(1));
    await stack.lambda.settled();

    // Assess: parts 0–4 ran; the file is in the error bucket with a summary that says why.
    expect(partsOf('loop/limit.csv', stack.lambda.invocations).map((e) => e.part)).toEqual([
      1, 2, 3, 4,
    ]);
    const [summary] = summariesFor('loop/limit.csv');
    expect(summary).toMatchObject({
      status: 'FAILED',
      fileError: { code: 'TOO_MANY_PARTS', message: expect.stringMatching(/MAX_PARTS \(5\)/) },
      destination: { bucket: stack.names.error, key: 'loop/limit.csv' },
    });
    expect(await inInbound('loop/limit.csv')).toBe(false);
  }, 120_000);
});
