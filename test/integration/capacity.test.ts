import type { S3Event } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { InfrastructureError } from '../../src/errors.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { CapacityProxy } from '../support/capacity.ts';
import { type Handler, useLocalStack } from '../support/harness.ts';

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
function handlerBehind(proxy: CapacityProxy, env: Record<string, string> = {}): Handler {
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.url;
  // The writer's last second before the deadline is its own: short test invocations need less.
  return local.handler({ env, retryBudget: { safetyMarginMs: 1_000 } });
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
  it('loads a file into a 50 units/s table through continuations: every part succeeds, counts exact', async () => {
    // Prepare: 600 rows at 50 rows/s is 12 s of writing, in invocations of 9 s. The margin of
    // 2.5 s is shorter than a throttled window takes to drain at 50 items/s (the writer keeps up
    // to 2 s of writes in flight, plus a batch being filled, and gives up 1 s before the end):
    // each part must stop reading early enough for its queued writes, not just the margin.
    const proxy = await capacity(50);
    const handler = handlerBehind(proxy, { CONTINUATION_MARGIN_MS: '2500' });
    const event = await upload('capacity/slow.csv', csv('slow', 600));

    // Act
    const continuations = await local.drive(handler, event, () => lambdaContext(9_000));

    // Assess
    expect(continuations).toBeGreaterThanOrEqual(1);
    expect(proxy.stats.throttled + proxy.stats.partial).toBeGreaterThan(0);
    // Every item was accepted exactly once: a drained window is neither lost nor written twice.
    expect(proxy.stats.accepted).toBe(600);
    expect(await rowsFor('slow')).toBe(600);
    const summaries = local.summariesFor('capacity/slow.csv');
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
    expect(local.emailsFor('capacity/slow.csv')[0]).toMatch(
      /DynamoDB throttled \d+% of writes; the load took 1\d s at about \d+(\.\d)? rows\/s\./,
    );
    expect(await local.exists(local.stack.names.archive, 'capacity/slow.csv')).toBe(true);
    expect(await local.exists(local.stack.names.inbound, 'capacity/slow.csv')).toBe(false);
  }, 60_000);

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
