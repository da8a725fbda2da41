import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { logger } from '../../src/observability.ts';
import type { Clients } from '../../src/pipeline/ingestObject.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { crashAfterBatches } from '../support/faults.ts';
import { useLocalStack } from '../support/harness.ts';
import { continuationsSince, rowBudget, taggedCsv } from '../support/longFiles.ts';

const local = useLocalStack();
let createHandler: typeof import('../../src/handlers/ingest.ts').createHandler;
let createBatchHandler: typeof import('../../src/handlers/batchOperations.ts').createHandler;

beforeAll(async () => {
  ({ createHandler } = await import('../../src/handlers/ingest.ts'));
  ({ createHandler: createBatchHandler } = await import('../../src/handlers/batchOperations.ts'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

function ingestWith(tweak?: (clients: Clients) => void) {
  const config = loadConfig(local.stack.env);
  const own = createClients(config);
  tweak?.(own);
  return { config, ingest: createIngestOnce({ clients: own, config }) };
}

const settle = (promise: Promise<unknown>) =>
  promise.then(
    () => 'finished',
    (error: Error) => error.name,
  );

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('A duplicate delivery while the same upload is in progress', () => {
  it('ends quietly in the S3 event handler, and the original attempt still finishes the file', async () => {
    // Prepare: the original delivery hangs in its writes until its invocation times out.
    const event = await local.upload('dupes/in-progress.csv', taggedCsv(300, 'dup'));
    const stuck = createHandler(ingestWith((own) => crashAfterBatches(own.writes, 0)).ingest);
    const healthy = createHandler(ingestWith().ingest);
    const lockEnds = Date.now() + 2_000;
    const original = settle(stuck(structuredClone(event), lambdaContext(2_000)));
    await pause(500);
    const info = vi.spyOn(logger, 'info');

    // Act: S3 delivers the same event again meanwhile.
    const duplicate = await settle(healthy(structuredClone(event), lambdaContext()));

    // Assess: no error (so no Lambda retry, no dead-letter queue), one info line that says why.
    expect(duplicate).toBe('finished');
    expect(info).toHaveBeenCalledWith(
      expect.stringMatching(/already in progress/),
      expect.objectContaining({ error: expect.any(String) }),
    );
    expect(local.summariesFor('dupes/in-progress.csv')).toEqual([]);
    // The original attempt fails (its invocation timed out) and Lambda's own retry finishes it.
    expect(await original).toBe('TimeoutError');
    // Lambda retries a failed async invocation after a minute: its lock has ended by then.
    await pause(Math.max(0, lockEnds - Date.now()) + 100);
    await healthy(structuredClone(event), lambdaContext());
    expect(local.summariesFor('dupes/in-progress.csv')).toEqual([
      expect.objectContaining({
        status: 'SUCCEEDED',
        rows: { total: 300, written: 300, rejected: 0, duplicates: 0 },
      }),
    ]);
  }, 60_000);

  it('ends quietly for a continuation in either handler', async () => {
    // Prepare: part 1 of a long file is running (hung in its writes) when it is delivered again.
    const event = await local.upload('dupes/part.csv', taggedCsv(3_000, 'prt'));
    const { config, ingest } = ingestWith();
    const healthy = createHandler(ingest);
    const seen = local.stack.lambda.invocations.length;
    await healthy(structuredClone(event), rowBudget(2));
    const [part1] = continuationsSince(local.stack.lambda, seen);
    if (!part1) throw new Error('expected a continuation');
    const stuck = createHandler(ingestWith((own) => crashAfterBatches(own.writes, 0)).ingest);
    const original = settle(stuck(structuredClone(part1), lambdaContext(2_000)));
    await pause(500);

    // Act
    const again = await settle(healthy(structuredClone(part1), lambdaContext()));
    const batch = createBatchHandler(ingest, config);
    const viaBatch = await settle(batch(structuredClone(part1), lambdaContext()));

    // Assess
    expect([again, viaBatch]).toEqual(['finished', 'finished']);
    expect(await original).toBe('TimeoutError');
  }, 60_000);
});
