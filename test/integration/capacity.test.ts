import type { S3Event } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { InfrastructureError } from '../../src/errors.ts';
import { type Checkpoint, ProgressLedger } from '../../src/ledger/ProgressLedger.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import type { WriteSummary } from '../../src/types.ts';
import { CapacityProxy, tableClock } from '../support/capacity.ts';
import { type Handler, useLocalStack } from '../support/harness.ts';
import { continuationsSince } from '../support/longFiles.ts';

const HEADER = 'student_id,first_name,last_name,course';
const local = useLocalStack();
const proxies: CapacityProxy[] = [];

afterEach(async () => {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = local.stack.endpoints.dynamodb;
  for (const proxy of proxies.splice(0)) await proxy.close();
});

/** A table of `unitsPerSecond` write units in front of dynalite, at the wire. */
async function capacity(unitsPerSecond: number): Promise<CapacityProxy> {
  const proxy = await CapacityProxy.start({
    table: local.stack.names.table,
    unitsPerSecond,
    upstream: local.stack.endpoints.dynamodb,
  });
  proxies.push(proxy);
  return proxy;
}

/**
 * The real handler with its own clients, every DynamoDB call going through `proxy` (the SDK
 * reads AWS_ENDPOINT_URL_DYNAMODB as it sends; afterEach puts dynalite's back).
 */
function handlerBehind(
  proxy: CapacityProxy,
  env: Record<string, string> = {},
  retryBudget: { safetyMarginMs?: number } = { safetyMarginMs: 1_000 },
): Handler {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  // The writer's last second before the deadline is its own: short test invocations need less.
  return local.handler({ env, retryBudget });
}

function csv(tag: string, rows: number): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++)
    lines.push(`A${String(i).padStart(5, '0')},First${i},Last${i},${tag} course`);
  return `${lines.join('\n')}\n`;
}

/** The rows of a tag, read from dynalite itself, whatever the proxies do. */
async function rowsFor(tag: string): Promise<number> {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = local.stack.endpoints.dynamodb;
  return (await local.items((item) => item.course === `${tag} course`)).length;
}

const upload = (key: string, body: string): Promise<S3Event> => local.upload(key, body);

describe('Capacity: a table slower than the loader', () => {
  it('loads a file into a 50 units/s table through continuations: every part hands over at what the table acknowledged, counts exact', async () => {
    // Prepare: 600 rows at 50 rows/s. Each part's clock follows the table (tableClock): it stops
    // reading after 6 calls and its writes are cut 2 calls later, with items still queued or in
    // flight, whatever the machine's speed.
    const proxy = await capacity(50);
    // The default margins: the clock's phases are set against them (TABLE_CLOCK).
    const handler = handlerBehind(proxy, {}, {});
    const event = await upload('capacity/slow.csv', csv('slow', 600));
    const ledger = new ProgressLedger(
      createClients(loadConfig(local.stack.env)).ddb,
      local.stack.names.ledger,
    );
    const seen = local.stack.lambda.invocations.length;

    // Act: part by part, reading each part's checkpoint as it was handed over
    const checkpoints: Checkpoint[] = [];
    const outcomes: unknown[] = [];
    outcomes.push(await handler(structuredClone(event), tableClock(proxy.stats, 6, 2)));
    for (let part = 0; local.stack.lambda.invocations.length > seen + part; part++) {
      const next = continuationsSince(local.stack.lambda, seen)[part];
      if (!next) throw new Error('no continuation');
      const progress = await ledger.get(next.upload);
      if (progress?.stage === 'LOADING') checkpoints.push(progress.checkpoint);
      outcomes.push(await handler(next, tableClock(proxy.stats, 6, 2)));
      expect(part).toBeLessThan(100);
    }

    // Assess: no part failed; some handed over with writes not acknowledged, to be put again
    expect(checkpoints.length).toBeGreaterThanOrEqual(2);
    expect(outcomes.every((outcome) => outcome === undefined)).toBe(true);
    const replaying = checkpoints.filter((checkpoint) => checkpoint.replayThrough);
    expect(replaying.length).toBeGreaterThanOrEqual(1);
    for (const checkpoint of replaying) {
      expect(checkpoint.replayThrough?.offset).toBeGreaterThan(checkpoint.offset);
    }
    expect(proxy.stats.throttled + proxy.stats.partial).toBeGreaterThan(0);
    // Every item was accepted at least once; a write cut in flight may have landed and been put again.
    expect(proxy.stats.accepted).toBeGreaterThanOrEqual(600);
    expect(await rowsFor('slow')).toBe(600);
    const summaries = local.summariesFor('capacity/slow.csv');
    expect(summaries).toEqual([
      expect.objectContaining({
        status: 'SUCCEEDED',
        rows: { total: 600, written: 600, rejected: 0, duplicates: 0 },
      }),
    ]);
    // The write stats of every part were carried to the last one: every call the table saw, and
    // the calls a cut aborted on their way, which it may not have seen (at 50 items/s a part keeps
    // at most 4 calls, 2 s of writes, in flight). A call cut in flight was counted, but its answer
    // never seen: its pushback may be missing.
    const writes = summaries[0]?.writes as WriteSummary;
    expect(writes.calls).toBeGreaterThanOrEqual(proxy.stats.calls);
    expect(writes.calls).toBeLessThanOrEqual(proxy.stats.calls + 4 * checkpoints.length);
    expect(writes).toEqual({
      calls: expect.any(Number),
      throttled: expect.any(Number),
      rejected: expect.any(Number),
      rowsPerSecond: expect.any(Number),
    });
    expect(writes.throttled).toBeGreaterThan(0);
    expect(writes.throttled).toBeLessThanOrEqual(proxy.stats.throttled + proxy.stats.partial);
    expect(writes.rejected).toBeLessThanOrEqual(proxy.stats.throttled);
    expect(writes.rowsPerSecond).toBeGreaterThan(10);
    expect(writes.rowsPerSecond).toBeLessThan(60);
    expect(local.emailsFor('capacity/slow.csv')[0]).toMatch(
      /DynamoDB throttled \d+% of writes; the load took \d+ s at about \d+(\.\d)? rows\/s\./,
    );
    expect(await local.exists(local.stack.names.archive, 'capacity/slow.csv')).toBe(true);
    expect(await local.exists(local.stack.names.inbound, 'capacity/slow.csv')).toBe(false);
  }, 120_000);

  it('lets two loaders share a 100 units/s table: both finish, with exact counts', async () => {
    // Prepare
    const proxy = await capacity(100);
    const first = await upload('capacity/first.csv', csv('first', 500));
    const second = await upload('capacity/second.csv', csv('second', 500));
    const started = performance.now();

    // Act
    await Promise.all([
      local.drive(handlerBehind(proxy), first, () => lambdaContext()),
      local.drive(handlerBehind(proxy), second, () => lambdaContext()),
    ]);

    // Assess: 1,000 rows at 100 units/s (plus the first second's burst) take about 9 s
    const seconds = (performance.now() - started) / 1000;
    expect(proxy.stats.accepted).toBe(1_000);
    expect(seconds).toBeGreaterThan(8);
    for (const tag of ['first', 'second']) {
      expect(await rowsFor(tag)).toBe(500);
      expect(local.summariesFor(`capacity/${tag}.csv`)).toEqual([
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
    expect(await local.exists(local.stack.names.inbound, 'capacity/stalled.csv')).toBe(true);
    expect(local.summariesFor('capacity/stalled.csv')).toHaveLength(0);
  }, 30_000);
});
