import { PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import type { ContinuationEvent } from '../../src/pipeline/continuation.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { crashAfterBatches } from '../support/faults.ts';
import { useLocalStack } from '../support/harness.ts';
import { rowBudget } from '../support/longFiles.ts';

const HEADER = 'last_name,student_id,course,first_name';
const local = useLocalStack();

/**
 * `rows` data rows (a header in another order than the schema's), one in 1,000 invalid, and a
 * quoted field with a line break right after every point where a part may stop.
 */
function bigCsv(rows: number, tag: string): string {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const id = `${String.fromCharCode(65 + Math.floor(i / 100_000))}${String(i % 100_000).padStart(5, '0')}`;
    const first = i % 256 === 255 ? `"Multi\nLine ""${i}"""` : `First${i}`;
    lines.push(`"Last, ${i}",${i % 1_000 === 999 ? 'bad' : id},${tag} C${i % 7},${first}`);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The table's rows for a tag, as `student_id → other columns`, ignoring the tag itself. */
async function tableFor(tag: string): Promise<Map<string, string>> {
  const items = await local.items((item) => String(item.course).startsWith(`${tag} `));
  return new Map(
    items.map((item) => [
      `${item.student_id}|${String(item.course).slice(tag.length)}`,
      `${item.first_name}|${item.last_name}`,
    ]),
  );
}

describe('Continuation: files longer than one invocation', () => {
  it('loads a 200,000-row file through at least 5 continuations exactly like one uninterrupted run', async () => {
    // Prepare
    const single = await local.upload('long/single.csv', bigCsv(200_000, 'single'));
    const split = await local.upload('long/split.csv', bigCsv(200_000, 'split'));
    const handler = local.handler();

    // Act
    const uninterrupted = await local.drive(handler, single, () => lambdaContext());
    const continuations = await local.drive(handler, split, () => rowBudget(120));

    // Assess
    expect(uninterrupted).toBe(0);
    expect(continuations).toBeGreaterThanOrEqual(5);
    const [one] = local.summariesFor('long/single.csv');
    expect(local.summariesFor('long/split.csv')).toEqual([
      expect.objectContaining({ status: 'PARTIAL', rows: one?.rows, errors: one?.errors }),
    ]);
    expect(one?.rows).toEqual({ total: 200_000, written: 199_800, rejected: 200, duplicates: 0 });
    const [a, b] = [await tableFor('single'), await tableFor('split')];
    expect(b.size).toBe(199_800);
    expect(b).toEqual(a);
    const report = (key: string) =>
      local.text(local.stack.names.error, key).then((t) => t.replaceAll('split C', 'single C'));
    expect(await report('long/split.errors.csv')).toBe(await report('long/single.errors.csv'));
    expect(await local.exists(local.stack.names.error, 'long/split.errors.csv.part-00001')).toBe(
      false,
    );
    expect(await local.exists(local.stack.names.inbound, 'long/split.csv')).toBe(false);
    expect(await local.exists(local.stack.names.error, 'long/split.csv')).toBe(true);
  }, 600_000);

  it('loses no row and counts right when the third part crashes and is redelivered', async () => {
    // Prepare
    const event = await local.upload('long/crash.csv', bigCsv(12_000, 'crash'));
    const healthy = local.handler();
    const seen = local.stack.lambda.invocations.length;
    await healthy(structuredClone(event), rowBudget(12));
    const second = JSON.parse(
      local.stack.lambda.invocations[seen]?.payload ?? 'null',
    ) as ContinuationEvent;
    await healthy(structuredClone(second), rowBudget(12));
    const third = JSON.parse(
      local.stack.lambda.invocations[seen + 1]?.payload ?? 'null',
    ) as ContinuationEvent;
    expect(third.part).toBe(2);

    // Act: part 3 dies mid-way: its writes hang after 4 batches, before its first look at the
    // clock (256 rows), so it cannot stop on its own and its invocation times out
    const dying = local.handler({
      env: { CONTINUATION_MARGIN_MS: '0' },
      tweak: (own) => crashAfterBatches(own.writes, 4),
    });
    const crashed = await dying(structuredClone(third), lambdaContext(1_500)).then(
      () => 'finished',
      (error: Error) => error.name,
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    const rest = await local.drive(healthy, third, () => rowBudget(12));

    // Assess
    expect(crashed).toBe('TimeoutError');
    expect(local.stack.lambda.invocations.length - seen).toBe(2 + rest);
    expect(local.summariesFor('long/crash.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 12_000, written: 11_988, rejected: 12, duplicates: 0 },
      }),
    ]);
    expect((await tableFor('crash')).size).toBe(11_988);
  }, 120_000);

  it('continues a long file of an S3 Batch Operations job in the batch function, to one summary', async () => {
    // Prepare
    const { createHandler: createBatchHandler } = await import(
      '../../src/handlers/batchOperations.ts'
    );
    const config = loadConfig(local.stack.env);
    const batch = createBatchHandler(
      createIngestOnce({ clients: createClients(config), config }),
      config,
    );
    await local.s3.send(
      new PutObjectCommand({
        Bucket: local.stack.names.inbound,
        Key: 'long/batch job.csv',
        Body: bigCsv(3_000, 'batch'),
      }),
    );
    const seen = local.stack.lambda.invocations.length;
    // S3 Batch Operations sends a task again after a TemporaryFailure, with a new invocation id.
    const task = (invocationId: string) => ({
      invocationSchemaVersion: '2.0',
      invocationId,
      job: { id: 'job-long', userArguments: { move: 'true', notify: 'true' } },
      tasks: [
        {
          taskId: 'task-1',
          s3Bucket: local.stack.names.inbound,
          s3Key: 'long/batch+job.csv',
          s3VersionId: null,
        },
      ],
    });

    // Act
    const response = await batch(task('invocation-1'), rowBudget(4));
    const askedWhileLoading = await batch(task('invocation-2'), rowBudget(4));
    let parts = 0;
    while (local.stack.lambda.invocations.length > seen + parts) {
      const next = JSON.parse(
        local.stack.lambda.invocations[seen + parts]?.payload ?? 'null',
      ) as ContinuationEvent;
      parts++;
      expect(await batch(next, rowBudget(4))).toBeUndefined();
    }

    const askedWhenDone = await batch(task('invocation-3'), rowBudget(4));

    // Assess: never "Succeeded" before the file has finished; the final answer once it has.
    for (const unfinished of [response, askedWhileLoading]) {
      expect(unfinished.results).toEqual([
        expect.objectContaining({
          taskId: 'task-1',
          resultCode: 'TemporaryFailure',
          resultString: expect.stringMatching(/^CONTINUED: not finished yet/),
        }),
      ]);
    }
    expect(askedWhenDone.results).toEqual([
      expect.objectContaining({
        taskId: 'task-1',
        resultCode: 'Succeeded',
        resultString: expect.stringMatching(/^PARTIAL: 3 of 3000 rows rejected, 2997 loaded/),
      }),
    ]);
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(local.summariesFor('long/batch job.csv')).toEqual([
      expect.objectContaining({
        status: 'PARTIAL',
        rows: { total: 3_000, written: 2_997, rejected: 3, duplicates: 0 },
      }),
    ]);
    expect(await local.exists(local.stack.names.error, 'long/batch job.csv')).toBe(true);
    expect(await local.exists(local.stack.names.inbound, 'long/batch job.csv')).toBe(false);
  }, 120_000);
});
