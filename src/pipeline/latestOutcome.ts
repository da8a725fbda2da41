import type { ProgressLedger } from '../ledger/ProgressLedger.ts';
import type { IngestOutcome, UploadRef } from '../types.ts';

/**
 * The stored outcome of a long file's first part says only that it continued. Asked again (an
 * S3 Batch Operations task retried after TemporaryFailure, a redelivered event), the ledger
 * knows more: once the summary is out, the file's own result; before that, how far it got.
 */
export async function latestOutcome(
  ledger: ProgressLedger,
  upload: UploadRef,
  stored: IngestOutcome,
): Promise<IngestOutcome> {
  if (stored.kind !== 'continued' || !stored.replayed) return stored;
  const progress = await ledger.get(upload);
  if (progress?.stage === 'PUBLISHED') {
    return { kind: 'processed', result: progress.result, replayed: true };
  }
  if (progress?.stage === 'LOADING') {
    const { part, offset, rows } = progress.checkpoint;
    return { kind: 'continued', part, offset, rows, replayed: true };
  }
  // Loaded and being moved, or the ledger record is gone: still not known to have finished.
  return stored;
}
