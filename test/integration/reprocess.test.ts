import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { type Config, loadConfig } from '../../src/config.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';
import { useLocalStack } from '../support/harness.ts';

const HEADER = 'student_id,first_name,last_name,course';
const local = useLocalStack();
let clients: Clients;
let config: Config;

beforeAll(() => {
  config = loadConfig(local.stack.env);
  clients = createClients(config);
});

async function putError(key: string, body: string): Promise<void> {
  await local.put(key, body, local.names.error);
}

const context = (options = {}) => ({ clients, config, remainingTimeMs: () => 900_000, options });

describe('Function: ingestObject (reprocessing the error bucket)', () => {
  it('keeps a file that fails again where it is, instead of copying it onto itself and deleting it', async () => {
    // Prepare
    await putError('rerun/still-bad.csv', `${HEADER}\nbad,Jo,Doe,X\n`);

    // Act
    const outcome = await ingestObject(
      { bucket: local.names.error, key: 'rerun/still-bad.csv', jobId: 'job-1' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: { status: 'PARTIAL', destination: null },
    });
    expect(await local.exists(local.names.error, 'rerun/still-bad.csv')).toBe(true);
    expect(await local.exists(local.names.error, 'rerun/still-bad.errors.csv')).toBe(true);
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
      { bucket: local.names.error, key: 'rerun/fixed.csv', jobId: 'job-2' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: {
        status: 'SUCCEEDED',
        destination: { bucket: local.names.archive, key: 'rerun/fixed.csv' },
      },
    });
    expect(await local.exists(local.names.error, 'rerun/fixed.csv')).toBe(false);
    expect(await local.exists(local.names.archive, 'rerun/fixed.csv')).toBe(true);
    expect(await local.exists(local.names.error, 'rerun/fixed.errors.csv')).toBe(false);
  });

  it('leaves a file reprocessed from the archive in the archive, even when it now fails', async () => {
    // Prepare
    await local.put('rerun/old.csv', `${HEADER}\nbad,Jo,Doe,X\n`, local.names.archive);

    // Act
    const outcome = await ingestObject(
      { bucket: local.names.archive, key: 'rerun/old.csv', jobId: 'job-4' },
      context({ move: true }),
    );

    // Assess
    expect(outcome).toMatchObject({
      kind: 'processed',
      result: { status: 'PARTIAL', destination: null },
    });
    expect(await local.exists(local.names.archive, 'rerun/old.csv')).toBe(true);
    expect(await local.exists(local.names.error, 'rerun/old.csv')).toBe(false);
  });

  it('ignores S3 events from its own output buckets, and its own reports even in a batch job', async () => {
    // Prepare
    await putError('rerun/loop.csv', `${HEADER}\nR00002,Jo,Doe,Rerun course\n`);
    await putError('rerun/loop.errors.csv', 'line,field,value,error\n');

    // Act
    const fromEvent = await ingestObject(
      { bucket: local.names.error, key: 'rerun/loop.csv' },
      context(),
    );
    const report = await ingestObject(
      { bucket: local.names.error, key: 'rerun/loop.errors.csv', jobId: 'job-3' },
      context(),
    );

    // Assess
    expect(fromEvent).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(report).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(await local.exists(local.names.error, 'rerun/loop.csv')).toBe(true);
  });
});
