import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { runLocalBackfill } from '../../../src/batch/runLocalBackfill.ts';
import type { BatchEvent, BatchResponse, BatchResultCode } from '../../../src/batch/types.ts';
import {
  type CompletionRow,
  writeCompletionReport,
} from '../../../src/batch/writeCompletionReport.ts';
import { writeManifest } from '../../../src/batch/writeManifest.ts';

const answer = (
  event: BatchEvent,
  resultCode: BatchResultCode,
  resultString: string,
): BatchResponse => ({
  invocationSchemaVersion: event.invocationSchemaVersion,
  treatMissingKeysAs: 'PermanentFailure',
  invocationId: event.invocationId,
  results: event.tasks.map(({ taskId }) => ({ taskId, resultCode, resultString })),
});

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('Function: runLocalBackfill', () => {
  it('invokes once per manifest line with a real-shaped 2.0 event, the key still URL-encoded', async () => {
    // Prepare
    const events: BatchEvent[] = [];
    const manifest = writeManifest([{ bucket: 'inbound', key: 'fall 2024/a+b.csv' }]);

    // Act
    await runLocalBackfill({
      manifest,
      jobId: 'job-1',
      userArguments: { move: 'false', notify: 'true' },
      concurrency: 1,
      invoke: async (event) => {
        events.push(structuredClone(event));
        return answer(event, 'Succeeded', 'ok');
      },
    });

    // Assess
    expect(events).toHaveLength(1);
    const [event] = events;
    expect(event).toEqual({
      invocationSchemaVersion: '2.0',
      invocationId: expect.stringMatching(/^[\w-]{16}$/),
      job: { id: 'job-1', userArguments: { move: 'false', notify: 'true' } },
      tasks: [
        {
          taskId: expect.stringMatching(/^[\w-]{16}$/),
          s3Bucket: 'inbound',
          s3Key: 'fall%202024%2Fa%2Bb.csv',
          s3VersionId: null,
        },
      ],
    });
  });

  it('keeps at most `concurrency` tasks in flight and reports in manifest order', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `f${i}.csv`);
    let inFlight = 0;
    let most = 0;

    const rows = await runLocalBackfill({
      manifest: writeManifest(keys.map((key) => ({ bucket: 'inbound', key }))),
      jobId: 'job-2',
      userArguments: {},
      concurrency: 3,
      invoke: async (event) => {
        most = Math.max(most, ++inFlight);
        // Later tasks finish first, so completion order differs from manifest order.
        for (let i = 0; i < 12 - Number(event.tasks[0]?.s3Key.slice(1, -4)); i++) await tick();
        inFlight--;
        return answer(event, 'Succeeded', event.tasks[0]?.s3Key ?? '');
      },
    });

    expect(most).toBe(3);
    expect(rows.map((r) => r.key)).toEqual(keys);
    expect(rows.map((r) => r.resultMessage)).toEqual(keys);
  });

  it('redrives a TemporaryFailure, and reports it failed when it never clears', async () => {
    const attempts = new Map<string, number>();
    const progress: number[] = [];

    const rows = await runLocalBackfill({
      manifest: 'inbound,flaky.csv\ninbound,stuck.csv\n',
      jobId: 'job-3',
      userArguments: {},
      concurrency: 2,
      retries: 2,
      retryDelayMs: 0,
      onTask: (_row, done, total) => progress.push(done / total),
      invoke: async (event) => {
        const key = event.tasks[0]?.s3Key ?? '';
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (key === 'flaky.csv' && n === 2)
          return answer(event, 'Succeeded', 'SUCCEEDED: 3 rows loaded');
        return answer(event, 'TemporaryFailure', 'InfrastructureError: throttled');
      },
    });

    expect(attempts).toEqual(
      new Map([
        ['flaky.csv', 2],
        ['stuck.csv', 3],
      ]),
    );
    expect(rows).toEqual([
      {
        bucket: 'inbound',
        key: 'flaky.csv',
        versionId: '',
        taskStatus: 'succeeded',
        httpStatusCode: 200,
        errorCode: '',
        resultMessage: 'SUCCEEDED: 3 rows loaded',
      },
      {
        bucket: 'inbound',
        key: 'stuck.csv',
        versionId: '',
        taskStatus: 'failed',
        httpStatusCode: 200,
        errorCode: 'TemporaryFailure',
        resultMessage: 'InfrastructureError: throttled',
      },
    ]);
    expect(progress).toEqual([0.5, 1]);
  });

  it('reports a function error and a missing result as S3 does', async () => {
    const rows = await runLocalBackfill({
      manifest: 'inbound,throws.csv\ninbound,silent.csv\n',
      jobId: 'job-4',
      userArguments: {},
      concurrency: 1,
      invoke: async (event) => {
        if (event.tasks[0]?.s3Key === 'throws.csv') throw new TypeError('boom');
        return { ...answer(event, 'Succeeded', ''), results: [] };
      },
    });

    expect(rows.map((r) => [r.taskStatus, r.errorCode, r.resultMessage])).toEqual([
      [
        'failed',
        'PermanentFailure',
        'Lambda returned function error: {"errorType":"TypeError","errorMessage":"boom"}',
      ],
      ['failed', 'PermanentFailure', 'No result for this task in the Lambda response'],
    ]);
  });
});

describe('Function: writeCompletionReport', () => {
  it('writes rows in the layout of S3’s results/*.csv: no header, status code before error code', () => {
    // Prepare
    const rows: CompletionRow[] = [
      {
        bucket: 'inbound',
        key: 'a.csv',
        versionId: '',
        taskStatus: 'succeeded',
        httpStatusCode: 200,
        errorCode: '',
        resultMessage: 'PARTIAL: 1 of 3 rows rejected, 2 loaded; report s3://errors/a.errors.csv',
      },
      {
        bucket: 'inbound',
        key: 'b%2Cc.csv',
        versionId: 'v1',
        taskStatus: 'failed',
        httpStatusCode: 200,
        errorCode: 'PermanentFailure',
        resultMessage: 'FAILED INVALID_HEADER: Unknown column "nmae", "x"',
      },
    ];

    // Act
    const csv = writeCompletionReport(rows);

    // Assess
    expect(csv.split('\n')[0]).toBe(
      'inbound,a.csv,,succeeded,200,,"PARTIAL: 1 of 3 rows rejected, 2 loaded; report s3://errors/a.errors.csv"',
    );
    expect(parse(csv)).toEqual([
      ['inbound', 'a.csv', '', 'succeeded', '200', '', rows[0]?.resultMessage],
      ['inbound', 'b%2Cc.csv', 'v1', 'failed', '200', 'PermanentFailure', rows[1]?.resultMessage],
    ]);
  });
});
