import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { createBackfillJob } from '../src/batch/createBackfillJob.ts';
import { listObjects } from '../src/batch/listObjects.ts';
import {
  BACKFILL_USAGE,
  type BackfillArgs,
  parseBackfillArgs,
} from '../src/batch/parseBackfillArgs.ts';
import { runLocalBackfill } from '../src/batch/runLocalBackfill.ts';
import type { BatchEvent, BatchResponse } from '../src/batch/types.ts';
import { type CompletionRow, writeCompletionReport } from '../src/batch/writeCompletionReport.ts';
import { writeManifest } from '../src/batch/writeManifest.ts';
import { DATASETS_FILE } from '../src/datasets.ts';
import { ConfigError } from '../src/errors.ts';
import { LOCAL_CREDENTIALS, localTables } from '../src/local/LocalStack.ts';
import { lambdaContext } from '../src/local/lambdaContext.ts';

/**
 * `npm run backfill`: lists the objects, writes the manifest, and either creates an S3 Batch
 * Operations job for it or (--local) runs it against the local stack, invoking the batch handler
 * in this process. Exits 0 when done, 1 when a local task failed, 2 on a usage error.
 */

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
}

/**
 * The endpoints and names of `npm start` (src/local/start.ts, LocalStack's default names), used
 * when the environment does not point elsewhere already.
 */
function useLocalStackEnv(env: NodeJS.ProcessEnv): void {
  const host = env.LOCAL_HOST ?? '127.0.0.1';
  const defaults: Record<string, string> = {
    ...LOCAL_CREDENTIALS,
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_S3: `http://${host}:${env.LOCAL_S3_PORT ?? 4568}`,
    AWS_ENDPOINT_URL_DYNAMODB: `http://${host}:${env.LOCAL_DYNAMODB_PORT ?? 4567}`,
    AWS_ENDPOINT_URL_SNS: `http://${host}:${env.LOCAL_SNS_PORT ?? 4575}`,
    // Long files go on in npm start's ingest function, as they go on in the ingest function on AWS.
    AWS_ENDPOINT_URL_LAMBDA: `http://${host}:${env.LOCAL_LAMBDA_PORT ?? 4574}`,
    CONTINUATION_FUNCTION_NAME: 's3-csv-ingest-local-ingest',
    AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
    AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
    S3_FORCE_PATH_STYLE: 'true',
    IDEMPOTENCY_TABLE: 'ingest-ledger',
    INBOUND_BUCKET: 'inbound',
    ARCHIVE_BUCKET: 'archive',
    ERROR_BUCKET: 'errors',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:ingest-summaries',
    // Handler logs would tear through the progress bar.
    POWERTOOLS_LOG_LEVEL: 'ERROR',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  // The tables as npm start makes them: one per declared dataset, or, with SCHEMA_FILE (or a
  // TABLE_NAME given), the one-dataset setup's table.
  if (env.DATASET_TABLES === undefined) {
    if (env.SCHEMA_FILE?.trim() || env.TABLE_NAME !== undefined) defaults.TABLE_NAME = 'students';
    else
      defaults.DATASET_TABLES = JSON.stringify(
        localTables(env.DATASETS_FILE?.trim() || DATASETS_FILE),
      );
  }
  const pointedElsewhere = Boolean(env.AWS_ENDPOINT_URL_S3);
  for (const [name, value] of Object.entries(defaults)) {
    if (env[name] !== undefined) continue;
    if (pointedElsewhere && name.startsWith('AWS_ENDPOINT_URL_')) continue;
    env[name] = value;
  }
}

function progressBar(done: number, total: number, failed: number, width = 30): string {
  const filled = Math.round((done / total) * width);
  const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
  return `\r${bar} ${done}/${total}  ✓ ${done - failed}  ✗ ${failed}`;
}

async function runLocal(
  args: Extract<BackfillArgs, { mode: 'local' }>,
  manifest: string,
  io: Io,
): Promise<number> {
  // The handler reads its configuration when it is imported: the environment is set by now.
  const { handler } = await import('../src/handlers/batchOperations.ts');
  const invoke = (event: BatchEvent): Promise<BatchResponse> =>
    handler(event, lambdaContext(900_000, 's3-csv-ingest-local-batch'));
  const jobId = randomUUID();
  const directory = resolve(args.reportDir, `job-${jobId}`);
  await mkdir(directory, { recursive: true });
  await writeFile(join(directory, 'manifest.csv'), manifest);

  let failed = 0;
  const tty = io.err.isTTY === true;
  const rows: CompletionRow[] = await runLocalBackfill({
    manifest,
    jobId,
    userArguments: args.userArguments,
    invoke,
    concurrency: args.concurrency,
    onTask: (row, done, total) => {
      if (row.taskStatus === 'failed') failed++;
      if (tty) io.err.write(progressBar(done, total, failed));
    },
  });
  if (tty) io.err.write('\n');

  const report = join(directory, 'report.csv');
  await writeFile(report, writeCompletionReport(rows));
  io.out.write(
    `Local job ${jobId}: ${rows.length - failed} succeeded, ${failed} failed.\n` +
      `Completion report: ${report}\n`,
  );
  return failed > 0 ? 1 : 0;
}

export async function main(
  argv: string[],
  io: Io = { out: process.stdout, err: process.stderr },
): Promise<number> {
  let args: BackfillArgs;
  try {
    args = parseBackfillArgs(argv, process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err.write(`${error.message}\n\n${BACKFILL_USAGE}`);
    return 2;
  }
  if (args.mode === 'help') {
    io.out.write(BACKFILL_USAGE);
    return 0;
  }
  if (args.mode === 'local') useLocalStackEnv(process.env);

  const s3 = new S3Client({
    forcePathStyle: process.env.S3_FORCE_PATH_STYLE === 'true',
    // The bucket may live in another region than the one configured.
    followRegionRedirects: true,
  });
  const objects = [];
  try {
    for await (const object of listObjects(s3, {
      bucket: args.bucket,
      prefix: args.prefix,
      suffix: args.suffix,
      exclude: (key) => /\.errors\.csv$/i.test(key),
    })) {
      objects.push(object);
    }
  } finally {
    s3.destroy();
  }
  const where = `s3://${args.bucket}/${args.prefix ?? ''}*${args.suffix}`;
  io.err.write(`${objects.length} objects match ${where}\n`);
  if (objects.length === 0) {
    io.out.write('Nothing to do: no job created.\n');
    return 0;
  }
  const manifest = writeManifest(objects);
  if (args.mode === 'local') return runLocal(args, manifest, io);

  const clients = { s3: new S3Client({}), s3control: new S3ControlClient({}) };
  try {
    const job = await createBackfillJob(clients, {
      manifest,
      reportBucket: args.reportBucket,
      manifestPrefix: args.manifestPrefix,
      reportPrefix: args.reportPrefix,
      functionArn: args.functionArn,
      roleArn: args.roleArn,
      accountId: args.accountId,
      userArguments: args.userArguments,
      priority: args.priority,
      description: `s3-csv-ingest backfill of ${where}`,
    });
    io.out.write(
      `Created S3 Batch Operations job ${job.jobId} for ${objects.length} objects.\n` +
        `Manifest:          s3://${job.manifest.bucket}/${job.manifest.key}\n` +
        `Completion report: s3://${job.report.bucket}/${job.report.key}\n\n` +
        'Watch it:\n' +
        `  aws s3control describe-job --account-id ${args.accountId} --job-id ${job.jobId} \\\n` +
        `    --query 'Job.{Status:Status,Progress:ProgressSummary,Failures:FailureReasons}'\n`,
    );
    return 0;
  } finally {
    clients.s3.destroy();
    clients.s3control.destroy();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
