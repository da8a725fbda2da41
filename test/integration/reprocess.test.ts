import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';

const HEADER = 'student_id,first_name,last_name,course';
let stack: LocalStack;
let s3: S3Client;
let clients: Clients;
let config: Config;

beforeAll(async () => {
  stack = await LocalStack.start();
  Object.assign(process.env, stack.env);
  config = loadConfig(stack.env);
  clients = createClients(config);
  s3 = stack.s3Client();
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

const exists = (bucket: string, key: string): Promise<boolean> =>
  s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
    () => true,
    () => false,
  );

async function putError(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: stack.names.error, Key: key, Body: body }));
}

const context = (options = {}) => ({ clients, config, remainingTimeMs: () => 900_000, options });

describe('Function: ingestObject (reprocessing the error bucket)', () => {
  it('keeps a file that fails again where it is, instead of copying it onto itself and deleting it', async () => {
    // Prepare
    await putError('rerun/still-bad.csv', `${HEADER}\nbad,Jo,Doe,X\n`);

    // Act
    const outcome = await ingestObject(
      { bucket: stack.names.error, key: 'rerun/still-bad.csv', jobId: 'job-1' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: { status: 'PARTIAL', destination: null },
    });
    expect(await exists(stack.names.error, 'rerun/still-bad.csv')).toBe(true);
    expect(await exists(stack.names.error, 'rerun/still-bad.errors.csv')).toBe(true);
  });

  it('moves a file that now loads cleanly from the error bucket to the archive, with its old report gone', async () => {
    // Prepare
    await putError('rerun/fixed.csv', `${HEADER}\nR00001,Jo,Doe,Rerun course\n`);
    await putError(
      'rerun/fixed.errors.csv',
      'line,field,value,error\n2,student_id,bad,old problem\n',
    );

    // Act
    const outcome = await ingestObject(
      { bucket: stack.names.error, key: 'rerun/fixed.csv', jobId: 'job-2' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: {
        status: 'SUCCEEDED',
        destination: { bucket: stack.names.archive, key: 'rerun/fixed.csv' },
      },
    });
    expect(await exists(stack.names.error, 'rerun/fixed.csv')).toBe(false);
    expect(await exists(stack.names.archive, 'rerun/fixed.csv')).toBe(true);
    expect(await exists(stack.names.error, 'rerun/fixed.errors.csv')).toBe(false);
  });

  it('leaves a file reprocessed from the archive in the archive, even when it now fails', async () => {
    // Prepare
    await s3.send(
      new PutObjectCommand({
        Bucket: stack.names.archive,
        Key: 'rerun/old.csv',
        Body: `${HEADER}\nbad,Jo,Doe,X\n`,
      }),
    );

    // Act
    const outcome = await ingestObject(
      { bucket: stack.names.archive, key: 'rerun/old.csv', jobId: 'job-4' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: { status: 'PARTIAL', destination: null },
    });
    expect(await exists(stack.names.archive, 'rerun/old.csv')).toBe(true);
    expect(await exists(stack.names.error, 'rerun/old.csv')).toBe(false);
  });

  it('ignores S3 events from its own output buckets, and its own reports even in a batch job', async () => {
    // Prepare
    await putError('rerun/loop.csv', `${HEADER}\nR00002,Jo,Doe,Rerun course\n`);
    await putError('rerun/loop.errors.csv', 'line,field,value,error\n');

    // Act
    const fromEvent = await ingestObject(
      { bucket: stack.names.error, key: 'rerun/loop.csv' },
      context(),
    );
    const report = await ingestObject(
      { bucket: stack.names.error, key: 'rerun/loop.errors.csv', jobId: 'job-3' },
      context(),
    );

    // Assess
    expect(fromEvent).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(report).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(await exists(stack.names.error, 'rerun/loop.csv')).toBe(true);
  });
});
