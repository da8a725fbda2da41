import { IdempotencyAlreadyInProgressError } from '@aws-lambda-powertools/idempotency';
import { describe, expect, it } from 'vitest';
import { MAX_RESULT_BYTES, toTaskResult } from '../../../src/batch/toTaskResult.ts';
import { ConfigError, InfrastructureError } from '../../../src/errors.ts';
import type { IngestOutcome, IngestResult } from '../../../src/types.ts';

const TASK = 'dGFza2lkZ29lc2hlcmUK';
const ok = (value: IngestOutcome) => toTaskResult(TASK, { status: 'fulfilled', value });
const failed = (reason: unknown) => toTaskResult(TASK, { status: 'rejected', reason });

function result(overrides: Partial<IngestResult>): IngestOutcome {
  return {
    kind: 'processed',
    result: {
      status: 'SUCCEEDED',
      source: { bucket: 'inbound', key: 'fall 2024/roster.csv' },
      destination: null,
      report: null,
      rows: { total: 120, written: 120, rejected: 0, duplicates: 0 },
      errors: [],
      fileError: null,
      durationMs: 40,
      ...overrides,
    },
  };
}

/** An SDK-shaped throttling error, as DynamoDB returns it. */
function throttled(): Error {
  return Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

describe('Function: toTaskResult', () => {
  it('never calls a superseded upload succeeded', () => {
    const superseded = result({
      status: 'SUPERSEDED',
      destination: { bucket: 'errors', key: 'superseded/fall 2024/roster.csv' },
      rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
    });
    expect(ok(superseded)).toEqual({
      taskId: TASK,
      resultCode: 'PermanentFailure',
      resultString:
        'SUPERSEDED by a newer upload of the same name; moved to s3://errors/superseded/fall 2024/roster.csv',
    });
  });

  it('answers Succeeded for a loaded file, with the counts', () => {
    expect(ok(result({ rows: { total: 120, written: 118, rejected: 0, duplicates: 2 } }))).toEqual({
      taskId: TASK,
      resultCode: 'Succeeded',
      resultString: 'SUCCEEDED: 118 rows loaded (2 duplicate keys)',
    });
  });

  it('says where a moved file went', () => {
    const moved = ok(result({ destination: { bucket: 'archive', key: 'fall 2024/roster.csv' } }));
    expect(moved.resultString).toBe(
      'SUCCEEDED: 120 rows loaded; moved to s3://archive/fall 2024/roster.csv',
    );
  });

  it('answers Succeeded for a partial file, starting PARTIAL, with the rejected count and the report', () => {
    const partial = ok(
      result({
        status: 'PARTIAL',
        rows: { total: 100, written: 95, rejected: 5, duplicates: 0 },
        report: { bucket: 'errors', key: 'fall 2024/roster.errors.csv' },
      }),
    );

    expect(partial.resultCode).toBe('Succeeded');
    expect(partial.resultString).toBe(
      'PARTIAL: 5 of 100 rows rejected, 95 loaded; report s3://errors/fall 2024/roster.errors.csv',
    );
  });

  it('names the rejected rows to fix and upload again, after the report', () => {
    const partial = ok(
      result({
        status: 'PARTIAL',
        rows: { total: 100, written: 95, rejected: 5, duplicates: 0 },
        report: { bucket: 'errors', key: 'x/roster.errors.csv' },
        rejected: { bucket: 'errors', key: 'x/roster.rejected.csv', versionId: 'v1' },
      }),
    );

    expect(partial.resultString).toBe(
      'PARTIAL: 5 of 100 rows rejected, 95 loaded; report s3://errors/x/roster.errors.csv; rows to fix and upload again s3://errors/x/roster.rejected.csv',
    );
  });

  it('answers PermanentFailure for a file problem, with the reason', () => {
    const bad = ok(
      result({
        status: 'FAILED',
        rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
        fileError: { code: 'INVALID_HEADER', message: 'Unknown column "nmae"' },
        report: { bucket: 'errors', key: 'x.errors.csv' },
      }),
    );

    expect(bad).toEqual({
      taskId: TASK,
      resultCode: 'PermanentFailure',
      resultString: 'FAILED INVALID_HEADER: Unknown column "nmae"; report s3://errors/x.errors.csv',
    });
  });

  it('tells how many rows a failed file loaded before the problem', () => {
    const bad = ok(
      result({
        status: 'FAILED',
        rows: { total: 60, written: 50, rejected: 0, duplicates: 0 },
        fileError: { code: 'MALFORMED_CSV', message: 'Invalid closing quote at line 61' },
      }),
    );
    expect(bad.resultString).toBe(
      'FAILED MALFORMED_CSV: Invalid closing quote at line 61; 50 rows loaded before the problem',
    );
  });

  it.each([
    ['OBJECT_GONE', 's3://inbound/gone.csv no longer exists (already processed?)'],
    ['NOT_CSV', 'notes.txt is not a .csv file'],
    ['OWN_OUTPUT_BUCKET', 'errors is this service’s own output bucket'],
  ] as const)(
    'answers PermanentFailure for a skipped object (%s), saying why',
    (reason, detail) => {
      expect(ok({ kind: 'skipped', reason, detail })).toEqual({
        taskId: TASK,
        resultCode: 'PermanentFailure',
        resultString: `${reason}: ${detail}`,
      });
    },
  );

  it('marks an outcome replayed from earlier in the same job', () => {
    const again = ok({ ...result({}), replayed: true });
    expect(again).toMatchObject({ resultCode: 'Succeeded' });
    expect(again.resultString).toBe(
      'SUCCEEDED: 120 rows loaded (already done earlier in this job)',
    );
  });

  it('never answers Succeeded for a file still loading in follow-up invocations', () => {
    for (const replayed of [false, true]) {
      const continued = ok({
        kind: 'continued',
        part: 2,
        offset: 1_048_576,
        rows: { total: 5000, written: 5000, rejected: 0, duplicates: 0 },
        replayed,
      });
      expect(continued.resultCode).toBe('TemporaryFailure');
      expect(continued.resultString).toBe(
        "CONTINUED: not finished yet: 5000 rows read so far, part 2 goes on from byte 1048576 in a new invocation; the file's summary tells how it ends",
      );
    }
  });

  it('answers TemporaryFailure for throttling past the retry budget, so S3 redrives the task', () => {
    const error = new InfrastructureError(
      'BatchWriteItem to students still failing after 10 attempts',
      {
        cause: throttled(),
      },
    );
    expect(failed(error)).toEqual({
      taskId: TASK,
      resultCode: 'TemporaryFailure',
      resultString:
        'InfrastructureError: BatchWriteItem to students still failing after 10 attempts',
    });
  });

  it('answers PermanentFailure for an infrastructure error a retry will not fix', () => {
    const denied = new InfrastructureError('GetObject s3://inbound/a.csv failed: Access Denied', {
      transient: false,
    });
    expect(failed(denied).resultCode).toBe('PermanentFailure');
  });

  it('answers TemporaryFailure while another invocation holds the same upload', () => {
    expect(failed(new IdempotencyAlreadyInProgressError('in progress')).resultCode).toBe(
      'TemporaryFailure',
    );
  });

  it('answers PermanentFailure with the reason for bad userArguments', () => {
    const bad = failed(new ConfigError('Invalid userArguments: unknown argument "mvoe"'));
    expect(bad).toEqual({
      taskId: TASK,
      resultCode: 'PermanentFailure',
      resultString: 'Invalid userArguments: unknown argument "mvoe"',
    });
  });

  it('retries an unexpected error only when it or its cause is transient', () => {
    const store = new Error('Failed to put record', { cause: throttled() });
    expect(failed(store).resultCode).toBe('TemporaryFailure');
    expect(failed(throttled()).resultCode).toBe('TemporaryFailure');
    expect(failed(new TypeError('x is undefined')).resultCode).toBe('PermanentFailure');
    expect(failed('a string').resultString).toBe('a string');
  });

  it('keeps the result string under 1 KB of UTF-8, cut between characters', () => {
    // Prepare: a 1,024-byte key of 2-, 3- and 4-byte characters
    const key = `${'é📚日'.repeat(113)}.csv`;
    const detail = `s3://inbound/${key} no longer exists (already processed?)`;

    // Act
    const { resultString } = ok({ kind: 'skipped', reason: 'OBJECT_GONE', detail });

    // Assess
    expect(Buffer.byteLength(resultString)).toBeLessThanOrEqual(MAX_RESULT_BYTES);
    expect(MAX_RESULT_BYTES).toBeLessThan(1024);
    expect(resultString.endsWith('…')).toBe(true);
    expect(`OBJECT_GONE: ${detail}`.startsWith(resultString.slice(0, -1))).toBe(true);
    expect(resultString).not.toContain('\uFFFD');
    expect(resultString).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('keeps the result string on one line', () => {
    const multi = ok({ kind: 'skipped', reason: 'NOT_CSV', detail: 'a\nb\r\nc\td' });
    expect(multi.resultString).toBe('NOT_CSV: a b  c d');
  });
});
