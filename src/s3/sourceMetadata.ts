import type { UploadRef } from '../types.ts';

/** S3 user metadata travels as HTTP headers: printable ASCII only, 2 KB for all of it. */
const MAX_VALUE_CHARS = 200;

const safe = (value: string | undefined): string | undefined =>
  value && /^[\x21-\x7e]+$/.test(value) ? value.slice(0, MAX_VALUE_CHARS) : undefined;

/**
 * The upload an archived copy or a report came from, as object metadata
 * (`x-amz-meta-source-version-id`, `-sequencer`, `-etag`, `-bucket`, `-job-id`): on a versioned
 * bucket every version can be traced to its upload. Only identifiers S3 gave the upload, never
 * the key or anything read from the file.
 */
export function sourceMetadata(upload: UploadRef): Record<string, string> {
  const fields: [string, string | undefined][] = [
    ['source-bucket', upload.bucket],
    ['source-version-id', upload.versionId],
    ['source-sequencer', upload.sequencer],
    ['source-etag', upload.eTag?.replace(/"/g, '')],
    ['source-job-id', upload.jobId],
  ];
  const metadata: Record<string, string> = {};
  for (const [name, value] of fields) {
    const clean = safe(value);
    if (clean) metadata[name] = clean;
  }
  return metadata;
}
