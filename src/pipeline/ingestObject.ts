import { datasetFor, noDatasetDetail } from '../datasets.ts';
import type { LoadedProgress } from '../ledger/ProgressLedger.ts';
import { publishSummary } from '../notify/publishSummary.ts';
import { DATASET_LOG_KEY, logger } from '../observability.ts';
import { copyObject } from '../s3/copyObject.ts';
import { deleteObject } from '../s3/deleteObject.ts';
import { reportKey } from '../s3/ReportWriter.ts';
import { sourceMetadata } from '../s3/sourceMetadata.ts';
import { withVersion } from '../s3/withVersion.ts';
import type { IngestOutcome, UploadRef } from '../types.ts';
import type { IngestContext, IngestOptions } from './context.ts';
import { dropKeySet } from './keySet.ts';
import { loadParts } from './loadParts.ts';
import { skipReason } from './skipReason.ts';
import { supersede } from './supersede.ts';

export type { Clients } from '../types.ts';
export type { IngestContext, IngestOptions } from './context.ts';

/**
 * The one place that knows the order of the steps: load rows (validate, write, report; over
 * several invocations for a long file) → copy and verify → delete the source → publish the
 * summary. With a ledger each finished step is recorded, and a retry resumes at the first step
 * not done. Bad data never throws; infrastructure failures do, and Lambda's retry picks up
 * where this attempt stopped.
 */
export async function ingestObject(
  upload: UploadRef,
  context: IngestContext,
): Promise<IngestOutcome> {
  const { clients, config, ledger } = context;
  const options: IngestOptions = {
    move: true,
    notify: true,
    errorPolicy: config.errorPolicy,
    ...context.options,
  };
  const skip = skipReason(upload, config);
  if (skip) return skip;
  const dataset = datasetFor(config.datasets, upload.key);
  if (!dataset) {
    return {
      kind: 'skipped',
      reason: 'NO_DATASET',
      detail: noDatasetDetail(config.datasets, upload.key),
    };
  }
  // Every line logged about this object from here on names its dataset; the handler that
  // appended the object's keys removes this one with them (DATASET_LOG_KEY).
  logger.appendKeys({ [DATASET_LOG_KEY]: dataset.name });

  const progress = ledger ? await ledger.get(upload) : null;
  let step: LoadedProgress;
  if (!progress || progress.stage === 'LOADING') {
    const loaded = await loadParts(upload, { ...context, dataset }, options, progress);
    if (!('stage' in loaded)) return loaded;
    step = loaded as LoadedProgress;
    await ledger?.save(upload, step);
    if (progress) await dropKeySet(clients, config, upload, progress.checkpoint.part);
  } else {
    step = progress;
    // Every step was done before: a late redelivery, after Powertools forgot it.
    if (step.stage === 'PUBLISHED')
      return { kind: 'processed', result: step.result, replayed: true };
  }
  // Loaded, but a newer upload of the name started meanwhile: it must not become the current copy.
  if (
    step.stage === 'LOADED' &&
    step.result.status !== 'SUPERSEDED' &&
    (await context.keyOrder?.isSuperseded(upload))
  ) {
    const { result: loaded } = step;
    const move = loaded.destination !== null;
    const startedAt = Date.now() - loaded.durationMs;
    step = { ...step, result: supersede(upload, config, { loaded, startedAt, move }) };
  }
  const advance = async (stage: 'COPIED' | 'DELETED' | 'PUBLISHED'): Promise<void> => {
    step = { ...step, stage };
    await ledger?.save(upload, step);
  };
  const { result } = step;
  const exact: UploadRef = { ...upload, versionId: step.versionId, eTag: step.eTag };

  if (step.stage === 'LOADED') {
    if (result.destination) {
      const versionId = await copyObject(
        clients.s3,
        exact,
        step.size,
        result.destination,
        config.multipartCopyThresholdBytes,
        sourceMetadata(exact),
      );
      result.destination = withVersion(result.destination, versionId);
    }
    await advance('COPIED');
  }
  if (step.stage === 'COPIED') {
    if (result.destination) await deleteObject(clients.s3, exact);
    if (
      result.status === 'SUCCEEDED' &&
      result.destination &&
      upload.bucket === config.errorBucket
    ) {
      // A file fixed and reprocessed out of the error bucket leaves no stale report behind.
      await deleteObject(clients.s3, { bucket: config.errorBucket, key: reportKey(upload.key) });
    }
    await advance('DELETED');
  }
  if (step.stage === 'DELETED') {
    if (options.notify) await publishSummary(clients.sns, config.topicArn, result);
    await advance('PUBLISHED');
  }
  return { kind: 'processed', result };
}
