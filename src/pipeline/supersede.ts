import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import { logger } from '../observability.ts';
import type { IngestResult, ObjectLocation, UploadRef } from '../types.ts';

/** Where superseded uploads are kept in the error bucket, out of the way of failed files. */
export const SUPERSEDED_PREFIX = 'superseded/';

/** S3's limit on a key, in UTF-8 bytes. */
const MAX_KEY_BYTES = 1024;

/** `superseded/<key>`; a key too long for the prefix keeps its name's hash instead. */
function supersededKey(key: string): string {
  const wanted = `${SUPERSEDED_PREFIX}${key}`;
  if (Buffer.byteLength(wanted) <= MAX_KEY_BYTES) return wanted;
  return `${SUPERSEDED_PREFIX}${createHash('sha256').update(key).digest('hex')}.csv`;
}

/**
 * The outcome of an upload that a newer upload of the same name overtook (S3 events arrive in
 * no particular order): it does not go to the archive, where it would become the current copy
 * over the newer one, but to `superseded/<key>` in the error bucket, a version of its own that
 * names its upload. `loaded` is what it had done before it noticed (nothing, when it noticed
 * before reading): its counts and report are kept. `move` false: the file stays where it is.
 */
export function supersede(
  upload: UploadRef,
  config: Config,
  done: { loaded: IngestResult | null; startedAt: number; move: boolean },
): IngestResult {
  const { loaded, startedAt } = done;
  logger.warn('SUPERSEDED by a newer upload of the same name: not loaded further, kept apart', {
    bucket: upload.bucket,
    key: upload.key,
    versionId: upload.versionId,
    sequencer: upload.sequencer,
    rowsWritten: loaded?.rows.written ?? 0,
  });
  const destination: ObjectLocation | null = done.move
    ? { bucket: config.errorBucket, key: supersededKey(upload.key) }
    : null;
  return {
    status: 'SUPERSEDED',
    source: loaded?.source ?? {
      bucket: upload.bucket,
      key: upload.key,
      ...(upload.versionId ? { versionId: upload.versionId } : {}),
      ...(upload.sequencer ? { sequencer: upload.sequencer } : {}),
    },
    destination,
    report: loaded?.report ?? null,
    rows: loaded?.rows ?? { total: 0, written: 0, rejected: 0, duplicates: 0 },
    errors: loaded?.errors ?? [],
    fileError: loaded?.fileError ?? null,
    durationMs: Date.now() - startedAt,
  };
}
