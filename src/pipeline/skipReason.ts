import type { Config } from '../config.ts';
import { isGzipKey } from '../csv/inflate.ts';
import type { IngestOutcome, UploadRef } from '../types.ts';
import { SCRATCH_PREFIX } from './scratch.ts';
import { SUPERSEDED_PREFIX } from './supersede.ts';

/** Decides, before any work, whether this event is one to process. */
export function skipReason(upload: UploadRef, config: Config): IngestOutcome | null {
  if (!upload.key.toLowerCase().endsWith('.csv') && !isGzipKey(upload.key)) {
    return {
      kind: 'skipped',
      reason: 'NOT_CSV',
      detail: `${upload.key} is not a .csv or .csv.gz file`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.startsWith(SUPERSEDED_PREFIX)) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a superseded upload: copy it to the inbound bucket to load it`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.startsWith(SCRATCH_PREFIX)) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a long file's working data, not a file to load`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.toLowerCase().endsWith('.errors.csv')) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a rejected-rows report`,
    };
  }
  // In the inbound bucket a rejected-rows file, fixed, is an upload like any other.
  if (upload.bucket === config.errorBucket && upload.key.toLowerCase().endsWith('.rejected.csv')) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a file of rejected rows: fix them and upload it to the inbound bucket`,
    };
  }
  // An S3 event from our own output buckets would be a loop. A batch job may reprocess them.
  if (
    !upload.jobId &&
    (upload.bucket === config.archiveBucket || upload.bucket === config.errorBucket)
  ) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.bucket} is this service's own output bucket: ignored to prevent a loop`,
    };
  }
  return null;
}
