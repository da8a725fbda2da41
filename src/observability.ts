import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { IngestOutcome, UploadRef } from './types.ts';

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 's3-csv-ingest';

/** JSON logs with the Lambda context on every line (Powertools Logger). */
export const logger = new Logger({ serviceName });

/**
 * The log key naming an object's dataset: the pipeline appends it once the object's key has
 * picked one, and the handler removes it with the object's other keys.
 */
export const DATASET_LOG_KEY = 'dataset';

/** CloudWatch metrics as EMF log lines: no API call on the hot path (Powertools Metrics). */
export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'S3CsvIngest',
});

/**
 * The writes of one part of a file as EMF metrics: `WriteCalls`, `ThrottledWriteCalls` (answered
 * with UnprocessedItems or a throttling error), `RejectedWriteCalls` (throttled whole) and
 * `WriteRate` (items the table accepted per second of the part).
 */
export function recordWrites(
  stats: { calls: number; throttled: number; rejected: number; itemsWritten: number },
  ms: number,
): void {
  if (stats.calls === 0) return;
  metrics.addMetric('WriteCalls', MetricUnit.Count, stats.calls);
  metrics.addMetric('ThrottledWriteCalls', MetricUnit.Count, stats.throttled);
  metrics.addMetric('RejectedWriteCalls', MetricUnit.Count, stats.rejected);
  metrics.addMetric(
    'WriteRate',
    MetricUnit.CountPerSecond,
    Math.round((stats.itemsWritten * 1000) / Math.max(1, ms)),
  );
}

/** One log line and the metrics for what happened to one object. */
export function recordOutcome(upload: UploadRef, outcome: IngestOutcome): void {
  if (outcome.replayed) {
    logger.info('Duplicate delivery: this upload was already processed', {
      bucket: upload.bucket,
      key: upload.key,
    });
    metrics.addMetric('DuplicateDeliveries', MetricUnit.Count, 1);
    return;
  }
  if (outcome.kind === 'skipped') {
    logger.info('Object skipped', {
      bucket: upload.bucket,
      key: upload.key,
      reason: outcome.reason,
      detail: outcome.detail,
    });
    metrics.addMetric(`Skipped${outcome.reason}`, MetricUnit.Count, 1);
    return;
  }
  if (outcome.kind === 'continued') {
    logger.info('Part done; the rest of the file continues in a new invocation', {
      bucket: upload.bucket,
      key: upload.key,
      nextPart: outcome.part,
      offset: outcome.offset,
      rows: outcome.rows,
    });
    metrics.addMetric('Continuations', MetricUnit.Count, 1);
    return;
  }
  const { result } = outcome;
  logger.info('Object processed', {
    bucket: upload.bucket,
    key: upload.key,
    status: result.status,
    rows: result.rows,
    destination: result.destination,
    report: result.report,
    fileError: result.fileError,
    durationMs: result.durationMs,
  });
  metrics.addMetric(`Files${result.status}`, MetricUnit.Count, 1);
  metrics.addMetric('RowsWritten', MetricUnit.Count, result.rows.written);
  metrics.addMetric('RowsRejected', MetricUnit.Count, result.rows.rejected);
  metrics.addMetric('FileDuration', MetricUnit.Milliseconds, result.durationMs);
}
