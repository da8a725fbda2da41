import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Config } from '../config.ts';
import { BatchWriter } from '../dynamo/BatchWriter.ts';
import { FileProblem } from '../errors.ts';
import { publishSummary } from '../notify/publishSummary.ts';
import type { RetryBudget } from '../retry.ts';
import { copyObject } from '../s3/copyObject.ts';
import { deleteObject } from '../s3/deleteObject.ts';
import { openObject } from '../s3/openObject.ts';
import { ReportWriter, reportKey } from '../s3/ReportWriter.ts';
import type {
  IngestOutcome,
  IngestResult,
  IngestStatus,
  ObjectLocation,
  RowError,
  UploadRef,
} from '../types.ts';
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

/**
 * The one place that knows the order of the steps: open → load rows (validate, write) → report →
 * move (copy, verify, then delete) → summary. Bad data never throws; infrastructure failures do.
 */
export async function ingestObject(
  upload: UploadRef,
  context: IngestContext,
): Promise<IngestOutcome> {
  const started = Date.now();
  const { clients, config } = context;
  const options: IngestOptions = {
    move: true,
    notify: true,
    errorPolicy: config.errorPolicy,
    ...context.options,
  };
  const skip = skipReason(upload, config);
  if (skip) return skip;

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
  const newWriter = () =>
    new BatchWriter(clients.ddb, {
      tableName: config.tableName,
      concurrency: config.writeConcurrency,
      budget: { remainingTimeMs: context.remainingTimeMs, ...context.retryBudget },
    });

  let loaded: LoadRowsResult;
  if (options.errorPolicy === 'strict') {
    // First pass validates only; the table is touched only when every row is valid.
    const checked = await loadRows(opened.body, {
      writer: null,
      report,
      maxErrorRate: config.maxErrorRate,
    });
    if (checked.fileError || checked.rows.rejected > 0) {
      loaded = {
        rows: { ...checked.rows, written: 0 },
        fileError:
          checked.fileError ??
          new FileProblem(
            'STRICT_POLICY_VIOLATION',
            `${checked.rows.rejected} of ${checked.rows.total} rows are invalid and ERROR_POLICY is strict: nothing was loaded.`,
          ),
      };
    } else {
      const reopened = await openObject(clients.s3, exact);
      if (reopened.kind === 'missing')
        return { kind: 'skipped', reason: reopened.reason, detail: reopened.detail };
      loaded = await loadRows(reopened.body, {
        writer: newWriter(),
        report,
        maxErrorRate: config.maxErrorRate,
      });
    }
  } else {
    loaded = await loadRows(opened.body, {
      writer: newWriter(),
      report,
      maxErrorRate: config.maxErrorRate,
    });
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
  const reportLocation = await report.close();

  let destination: ObjectLocation | null = null;
  if (options.move) {
    destination = {
      bucket: status === 'SUCCEEDED' ? config.archiveBucket : config.errorBucket,
      key: upload.key,
    };
    await copyObject(clients.s3, exact, opened.size, destination);
    await deleteObject(clients.s3, exact);
  }

  const result: IngestResult = {
    status,
    source: { bucket: upload.bucket, key: upload.key },
    destination,
    report: reportLocation,
    rows,
    errors,
    fileError: fileError ? { code: fileError.code, message: fileError.message } : null,
    durationMs: Date.now() - started,
  };
  if (options.notify) await publishSummary(clients.sns, config.topicArn, result);
  return { kind: 'processed', result };
}
