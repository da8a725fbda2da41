import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import event1 from '../../events/batch-ops-1.0.json' with { type: 'json' };
import event2 from '../../events/batch-ops-2.0.json' with { type: 'json' };
import type { BatchEvent } from '../../src/batch/types.ts';
import { writeManifest } from '../../src/batch/writeManifest.ts';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { encodeEventKey } from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import { useLocalStack } from '../support/harness.ts';

type Module = typeof import('../../src/handlers/batchOperations.ts');
const HEADER = 'student_id,first_name,last_name,course';

const local = useLocalStack();
let handler: Module['handler'];
let createHandler: Module['createHandler'];
let backfill: typeof import('../../scripts/backfill.ts').main;

beforeAll(async () => {
  // The handler reads its configuration at import, as on a cold start: the harness has set it.
  ({ handler, createHandler } = await import('../../src/handlers/batchOperations.ts'));
  ({ main: backfill } = await import('../../scripts/backfill.ts'));
});

/** Three valid rows whose course is unique to `tag`, then `bad` invalid ones. */
function csv(tag: string, bad = 0): string {
  const rows = [1, 2, 3].map((i) => `A1000${i},First${i},Last${i},${tag} course`);
  for (let i = 0; i < bad; i++) rows.push(`bad-${i},First,Last,${tag} course`);
  return `${[HEADER, ...rows].join('\n')}\n`;
}

async function rowsFor(tag: string): Promise<number> {
  return (await local.items((item) => item.course === `${tag} course`)).length;
}

/** A one-task invocation shaped like the sample event of that schema version. */
function invocation(
  schema: '1.0' | '2.0',
  key: string,
  job: { id: string; userArguments?: Record<string, string> },
  taskId = 'dGFza2lkZ29lc2hlcmUK',
): BatchEvent {
  const event = structuredClone(schema === '1.0' ? event1 : event2) as BatchEvent;
  const [task] = event.tasks;
  event.job =
    schema === '1.0' ? { id: job.id } : { id: job.id, userArguments: job.userArguments ?? {} };
  event.tasks = [{ ...task, taskId, s3Key: encodeEventKey(key) } as BatchEvent['tasks'][number]];
  if (schema === '1.0')
    Object.assign(event.tasks[0] ?? {}, { s3BucketArn: `arn:aws:s3:::${local.names.inbound}` });
  else Object.assign(event.tasks[0] ?? {}, { s3Bucket: local.names.inbound });
  return event;
}

describe('Function: handler (batch operations, local stack)', () => {
  it('replays the schema 1.0 sample event: the decoded key is loaded, the file stays put', async () => {
    // Prepare: the object the sample event names, under its decoded key
    const key = 'fall 2024/roster+waitlist été.csv';
    await local.put(key, csv('sample-1'));

    // Act
    const response = await handler(structuredClone(event1) as BatchEvent, lambdaContext());

    // Assess
    expect(response).toEqual({
      invocationSchemaVersion: '1.0',
      treatMissingKeysAs: 'PermanentFailure',
      invocationId: event1.invocationId,
      results: [
        {
          taskId: event1.tasks[0]?.taskId,
          resultCode: 'Succeeded',
          resultString: 'SUCCEEDED: 3 rows loaded',
        },
      ],
    });
    expect(await rowsFor('sample-1')).toBe(3);
    expect(await local.exists(local.names.inbound, key)).toBe(true);
    expect(local.summariesFor(key)).toEqual([]);
  });

  it('replays the schema 2.0 sample event (`%20`, `+`, `%2B`, a 4-byte character)', async () => {
    const key = 'spring 2025/José Núñez+co 📚.csv';
    await local.put(key, csv('sample-2'));

    const response = await handler(structuredClone(event2) as BatchEvent, lambdaContext());

    expect(response.results).toEqual([
      {
        taskId: event2.tasks[0]?.taskId,
        resultCode: 'Succeeded',
        resultString: 'SUCCEEDED: 3 rows loaded',
      },
    ]);
    expect(await rowsFor('sample-2')).toBe(3);
  });

  it.each(['1.0', '2.0'] as const)(
    'answers each outcome with its result code (schema %s)',
    async (schema) => {
      // Prepare
      const dir = `schema ${schema}`;
      const tag = `s${schema}`;
      await local.put(`${dir}/good+plus.csv`, csv(`${tag}-good`));
      await local.put(`${dir}/partial.csv`, csv(`${tag}-partial`, 2));
      await local.put(
        `${dir}/bad header.csv`,
        `student_id,first_name,last_name,cours\nA10001,Ada,L,X\n`,
      );
      const job = { id: `job-outcomes-${schema}` };
      const run = (key: string) => handler(invocation(schema, key, job), lambdaContext());

      // Act
      const good = await run(`${dir}/good+plus.csv`);
      const partial = await run(`${dir}/partial.csv`);
      const badHeader = await run(`${dir}/bad header.csv`);
      const missing = await run(`${dir}/never uploaded.csv`);

      // Assess
      expect(good.invocationSchemaVersion).toBe(schema);
      expect(good.results[0]).toMatchObject({
        resultCode: 'Succeeded',
        resultString: 'SUCCEEDED: 3 rows loaded',
      });
      expect(partial.results[0]).toMatchObject({
        resultCode: 'Succeeded',
        resultString: `PARTIAL: 2 of 5 rows rejected, 3 loaded; report s3://${local.names.error}/${dir}/partial.errors.csv; rows to fix and upload again s3://${local.names.error}/${dir}/partial.rejected.csv`,
      });
      expect(badHeader.results[0]?.resultCode).toBe('PermanentFailure');
      expect(badHeader.results[0]?.resultString).toMatch(
        /^FAILED INVALID_HEADER: The header must name the columns .*missing course; unknown "cours"/,
      );
      expect(missing.results[0]).toMatchObject({
        resultCode: 'PermanentFailure',
        resultString: `OBJECT_GONE: s3://${local.names.inbound}/${dir}/never uploaded.csv no longer exists (already processed?)`,
      });
      expect(await rowsFor(`${tag}-good`)).toBe(3);
      expect(await rowsFor(`${tag}-partial`)).toBe(3);
      // move=false: the report is written, the files stay; notify=false: no summaries
      expect(await local.exists(local.names.error, `${dir}/partial.errors.csv`)).toBe(true);
      expect(await local.exists(local.names.error, `${dir}/partial.rejected.csv`)).toBe(true);
      expect(await local.exists(local.names.inbound, `${dir}/partial.csv`)).toBe(true);
      expect(await local.exists(local.names.inbound, `${dir}/bad header.csv`)).toBe(true);
      expect(local.summariesFor(`${dir}/partial.csv`)).toEqual([]);
    },
  );

  it('moves and notifies when the job asks, once even when S3 redrives the task', async () => {
    const key = 'moved/good.csv';
    await local.put(key, csv('moved'));
    const job = { id: 'job-move', userArguments: { move: 'true', notify: 'true' } };

    const first = await handler(invocation('2.0', key, job), lambdaContext());
    const again = await handler(invocation('2.0', key, job), lambdaContext());

    expect(first.results[0]?.resultString).toBe(
      `SUCCEEDED: 3 rows loaded; moved to s3://${local.names.archive}/${key}`,
    );
    expect(again.results[0]?.resultString).toBe(
      `SUCCEEDED: 3 rows loaded; moved to s3://${local.names.archive}/${key} (already done earlier in this job)`,
    );
    expect(await local.exists(local.names.inbound, key)).toBe(false);
    expect(await local.exists(local.names.archive, key)).toBe(true);
    expect(local.summariesFor(key)).toHaveLength(1);
  });

  it('fails the task with the reason when the job has unknown userArguments, touching nothing', async () => {
    const key = 'args/good.csv';
    await local.put(key, csv('args'));
    const job = { id: 'job-args', userArguments: { move: 'yes', dryRun: 'true' } };

    const response = await handler(invocation('2.0', key, job), lambdaContext());

    expect(response.results[0]).toMatchObject({
      resultCode: 'PermanentFailure',
      resultString:
        'Invalid userArguments: unknown argument "dryRun" (expected move, notify, policy); "move" must be "true" or "false", got "yes"',
    });
    expect(await rowsFor('args')).toBe(0);
  });

  it('answers TemporaryFailure when the table accepts nothing for WRITE_STALL_MS, and the redrive loads the file', async () => {
    // Prepare: a pipeline whose write client throttles every BatchWriteItem (SDK middleware)
    const config = loadConfig({ ...local.stack.env, WRITE_STALL_MS: '300' });
    const faulty = createClients(config);
    let throttled = 0;
    faulty.writes.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'BatchWriteItemCommand') return next(args);
        throttled++;
        throw Object.assign(
          new Error('The level of configured provisioned throughput for the table was exceeded.'),
          {
            name: 'ProvisionedThroughputExceededException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          },
        );
      },
      { step: 'initialize', name: 'throttleEveryBatchWrite' },
    );
    const budget = { baseDelayMs: 1, maxDelayMs: 2, safetyMarginMs: 0 };
    const throttling = createHandler(
      createIngestOnce({ clients: faulty, config, retryBudget: budget }),
      config,
    );
    const key = 'throttled/good.csv';
    await local.put(key, csv('throttled'));
    const event = () => invocation('2.0', key, { id: 'job-throttle' });

    // Act
    const first = await throttling(event(), lambdaContext());
    const redrive = await handler(event(), lambdaContext());

    // Assess
    expect(throttled).toBeGreaterThanOrEqual(1);
    expect(first.results[0]?.resultCode).toBe('TemporaryFailure');
    expect(first.results[0]?.resultString).toMatch(
      /^InfrastructureError: BatchWriteItem to students: the table accepted no item for 0\.\d s \(WRITE_STALL_MS is 300 ms\)/,
    );
    expect(redrive.results[0]).toMatchObject({
      resultCode: 'Succeeded',
      resultString: 'SUCCEEDED: 3 rows loaded',
    });
    expect(await rowsFor('throttled')).toBe(3);
    faulty.ddb.destroy();
    faulty.writes.destroy();
  });
});

describe('Function: main (npm run backfill -- --local)', () => {
  it('runs the manifest through the batch handler and writes the completion report', async () => {
    // Prepare
    const files: Record<string, string> = {
      'backfill/good, one.csv': csv('bf-good'),
      'backfill/partial "q" ü.csv': csv('bf-partial', 1),
      'backfill/zz bad header.csv': 'nothing,like,a,header\n',
      'backfill/notes.txt': 'not a csv',
      'backfill/old.errors.csv': 'line,field,value,error\n',
    };
    for (const [key, body] of Object.entries(files)) await local.put(key, body);
    const directory = await mkdtemp(join(tmpdir(), 'backfill-'));
    let out = '';
    const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
    const io = {
      out: new Writable({
        write: (chunk, _e, done) => {
          out += chunk;
          done();
        },
      }),
      err: sink,
    };

    try {
      // Act
      const code = await backfill(
        [
          '--local',
          '--bucket',
          local.names.inbound,
          '--prefix',
          'backfill/',
          '--report-dir',
          directory,
          '--concurrency',
          '2',
        ],
        io,
      );

      // Assess
      expect(code).toBe(1);
      expect(out).toMatch(/^Local job [0-9a-f-]{36}: 2 succeeded, 1 failed\./);
      const reportPath = /Completion report: (.+)$/m.exec(out)?.[1] ?? '';
      const manifest = await readFile(join(reportPath, '..', 'manifest.csv'), 'utf8');
      expect(manifest).toBe(
        writeManifest(
          [
            'backfill/good, one.csv',
            'backfill/partial "q" ü.csv',
            'backfill/zz bad header.csv',
          ].map((key) => ({ bucket: local.names.inbound, key })),
        ),
      );
      const rows = parse(await readFile(reportPath, 'utf8')) as string[][];
      expect(
        rows.map(([bucket, key, version, status, http, code]) => [
          bucket,
          decodeURIComponent(key ?? ''),
          version,
          status,
          http,
          code,
        ]),
      ).toEqual([
        [local.names.inbound, 'backfill/good, one.csv', '', 'succeeded', '200', ''],
        [local.names.inbound, 'backfill/partial "q" ü.csv', '', 'succeeded', '200', ''],
        [
          local.names.inbound,
          'backfill/zz bad header.csv',
          '',
          'failed',
          '200',
          'PermanentFailure',
        ],
      ]);
      expect(rows[0]?.[6]).toBe('SUCCEEDED: 3 rows loaded');
      expect(rows[1]?.[6]).toBe(
        `PARTIAL: 1 of 4 rows rejected, 3 loaded; report s3://${local.names.error}/backfill/partial "q" ü.errors.csv; rows to fix and upload again s3://${local.names.error}/backfill/partial "q" ü.rejected.csv`,
      );
      expect(rows[2]?.[6]).toMatch(/^FAILED INVALID_HEADER: The first row is neither the header/);
      expect(await rowsFor('bf-good')).toBe(3);
      expect(await local.exists(local.names.inbound, 'backfill/good, one.csv')).toBe(true);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });

  it('creates nothing when no object matches', async () => {
    let out = '';
    const io = {
      out: new Writable({
        write: (chunk, _e, done) => {
          out += chunk;
          done();
        },
      }),
      err: new Writable({ write: (_c, _e, done) => done() }),
    };

    const code = await backfill(
      ['--local', '--bucket', local.names.inbound, '--prefix', 'nothing-here/'],
      io,
    );

    expect(code).toBe(0);
    expect(out).toBe('Nothing to do: no job created.\n');
  });
});
