import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';
import { BatchWriter } from '../dynamo/BatchWriter.ts';
import { FileProblem } from '../errors.ts';
import type { Progress, ProgressLedger } from '../ledger/ProgressLedger.ts';
import { publishSummary } from '../notify/publishSummary.ts';
import type { RetryBudget } from '../retry.ts';
import { copyObject } from '../s3/copyObject.ts';
import { deleteObject } from '../s3/deleteObject.ts';
import { type OpenedObject, openObject } from '../s3/openObject.ts';
import { ReportWriter, reportKey } from '../s3/ReportWriter.ts';
import type { IngestOutcome, IngestResult, IngestStatus, RowError, UploadRef } from '../types.ts';
import { type LoadRowsResult, loadRows } from './loadRows.ts';

export interface Clients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  sns: SNSClient;
}

export interface IngestContext {
  clients: Clients;
  config: Config;
  /** Milliseconds left in this invocation (Lambda's getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
  /** Remembers how far each upload got, so a retry resumes instead of redoing. */
  ledger?: ProgressLedger;
  /** Per-call overrides, e.g. from S3 Batch Operations' userArguments. */
  options?: Partial<IngestOptions>;
  retryBudget?: Partial<RetryBudget>;
}

export interface IngestOptions {
  /** Move the file to the archive/error bucket afterwards. */
  move: boolean;
  /** Publish the summary. */
  notify: boolean;
  errorPolicy: Config['errorPolicy'];
}

const ROW_ERROR_CODES = new Set<RowError['code']>(['SCHEMA', 'FIELD_COUNT']);

/** Decides, before any work, whether this event is one to process. */
function skipReason(upload: UploadRef, config: Config): IngestOutcome | null {
  if (!upload.key.toLowerCase().endsWith('.csv')) {
    return { kind: 'skipped', reason: 'NOT_CSV', detail: `${upload.key} is not a .csv file` };
  }
  if (upload.bucket === config.archiveBucket || upload.bucket === config.errorBucket) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.bucket} is this service's own output bucket: ignored to prevent a loop`,
    };
  }
  return null;
}

/** Streams the rows into the table (or, under the strict policy, checks them all first). */
async function load(
  opened: Extract<OpenedObject, { kind: 'stream' }>,
  exact: UploadRef,
  report: ReportWriter,
  context: IngestContext,
  options: IngestOptions,
): Promise<LoadRowsResult | OpenedObject> {
  const { clients, config } = context;
  const writer = new BatchWriter(clients.ddb, {
    tableName: config.tableName,
    concurrency: config.writeConcurrency,
    budget: { remainingTimeMs: context.remainingTimeMs, ...context.retryBudget },
  });
  const maxErrorRate = config.maxErrorRate;
  if (options.errorPolicy !== 'strict')
    return loadRows(opened.body, { writer, report, maxErrorRate });

  // First pass validates only; the table is touched only when every row is valid.
  const checked = await loadRows(opened.body, { writer: null, report, maxErrorRate });
  if (checked.fileError || checked.rows.rejected > 0) {
    return {
      rows: { ...checked.rows, written: 0 },
      fileError:
        checked.fileError ??
        new FileProblem(
          'STRICT_POLICY_VIOLATION',
          `${checked.rows.rejected} of ${checked.rows.total} rows are invalid and ERROR_POLICY is strict: nothing was loaded.`,
        ),
    };
  }
  const reopened = await openObject(clients.s3, exact);
  if (reopened.kind === 'missing') return reopened;
  return loadRows(reopened.body, { writer, report, maxErrorRate });
}

/**
 * Step 1: read, validate and write every row, and write the report. Returns the outcome, still
 * without a destination, or why the event needs no work.
 */
async function loadStep(
  upload: UploadRef,
  context: IngestContext,
  options: IngestOptions,
  started: number,
): Promise<Progress | IngestOutcome> {
  const { clients, config } = context;
  const opened = await openObject(clients.s3, upload);
  if (opened.kind === 'missing')
    return { kind: 'skipped', reason: opened.reason, detail: opened.detail };
  const exact: UploadRef = {
    ...upload,
    versionId: upload.versionId ?? opened.versionId,
    eTag: upload.eTag ?? opened.eTag,
  };

  const report = new ReportWriter(clients.s3, {
    bucket: config.errorBucket,
    key: reportKey(upload.key),
  });
  const loaded = await load(opened, exact, report, context, options);
  if ('kind' in loaded) {
    const missing = loaded as Extract<OpenedObject, { kind: 'missing' }>;
    return { kind: 'skipped', reason: missing.reason, detail: missing.detail };
  }

  const { rows, fileError } = loaded;
  const errors = report.first.filter((e) => ROW_ERROR_CODES.has(e.code));
  if (fileError) {
    const wait = report.add({
      line: fileError.line ?? 0,
      field: '',
      value: '',
      error: fileError.message,
      code: fileError.code,
    });
    if (wait) await wait;
  }
  const status: IngestStatus = fileError ? 'FAILED' : rows.rejected > 0 ? 'PARTIAL' : 'SUCCEEDED';
  const result: IngestResult = {
    status,
    source: { bucket: upload.bucket, key: upload.key },
    destination: options.move
      ? {
          bucket: status === 'SUCCEEDED' ? config.archiveBucket : config.errorBucket,
          key: upload.key,
        }
      : null,
    report: await report.close(),
    rows,
    errors,
    fileError: fileError ? { code: fileError.code, message: fileError.message } : null,
    durationMs: Date.now() - started,
  };
  return {
    stage: 'LOADED',
    result,
    versionId: exact.versionId,
    eTag: exact.eTag,
    size: opened.size,
  };
}

/**
 * The one place that knows the order of the steps: load rows (validate, write, report) → copy
 * and verify → delete the source → publish the summary. With a ledger, each finished step is
 * recorded and a retry resumes at the first step not done. Bad data never throws;
 * infrastructure failures do, and Lambda's retry picks up where this attempt stopped.
 */
export async function ingestObject(
  upload: UploadRef,
  context: IngestContext,
): Promise<IngestOutcome> {
  const started = Date.now();
  const { clients, config, ledger } = context;
  const options: IngestOptions = {
    move: true,
    notify: true,
    errorPolicy: config.errorPolicy,
    ...context.options,
  };
  const skip = skipReason(upload, config);
  if (skip) return skip;

  let progress = ledger ? await ledger.get(upload) : null;
  const advance = async (stage: Progress['stage']): Promise<void> => {
    if (!progress) return;
    progress = { ...progress, stage };
    await ledger?.save(upload, progress);
  };

  if (!progress) {
    const loaded = await loadStep(upload, context, options, started);
    if ('kind' in loaded) return loaded;
    progress = loaded;
    await ledger?.save(upload, progress);
  }
  const { result } = progress;
  const exact: UploadRef = { ...upload, versionId: progress.versionId, eTag: progress.eTag };

  if (progress.stage === 'LOADED') {
    if (result.destination) await copyObject(clients.s3, exact, progress.size, result.destination);
    await advance('COPIED');
  }
  if (progress.stage === 'COPIED') {
    if (result.destination) await deleteObject(clients.s3, exact);
    await advance('DELETED');
  }
  if (progress.stage === 'DELETED') {
    if (options.notify) await publishSummary(clients.sns, config.topicArn, result);
    await advance('PUBLISHED');
  }
  return { kind: 'processed', result };
}
