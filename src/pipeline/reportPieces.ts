import { CopyObjectCommand } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';
import { InfrastructureError } from '../errors.ts';
import type { JoinedFile, ProgressLedger } from '../ledger/ProgressLedger.ts';
import { isTransient } from '../retry.ts';
import { concatObjects } from '../s3/concatObjects.ts';
import { copySource } from '../s3/copyObject.ts';
import { deleteObjects } from '../s3/deleteObjects.ts';
import { rejectedKey } from '../s3/RejectedWriter.ts';
import { reportKey } from '../s3/ReportWriter.ts';
import type { Clients, ObjectLocation, StoredObject, UploadRef } from '../types.ts';
import { rejectedPieceLocation, reportPieceLocation } from './scratch.ts';

/** Where each piece-written file's pieces and its final key are. */
const FILES = {
  report: { piece: reportPieceLocation, key: reportKey, what: 'the report' },
  rejected: { piece: rejectedPieceLocation, key: rejectedKey, what: 'the rejected rows' },
} as const;

/**
 * Part 0 writes its report to the final key (most files have one part). When the file goes on,
 * that version is copied into the upload's own pieces folder, so the join reads only pieces of
 * this upload (never a report another upload of the name wrote meanwhile) and can be repeated.
 */
export async function keepFirstPiece(
  clients: Pick<Clients, 's3'>,
  config: Pick<Config, 'errorBucket'>,
  upload: UploadRef,
  written: StoredObject,
  file: JoinedFile = 'report',
): Promise<void> {
  const piece = FILES[file].piece(config, upload, 0);
  try {
    await clients.s3.send(
      new CopyObjectCommand({
        Bucket: piece.bucket,
        Key: piece.key,
        CopySource: copySource({ ...written, versionId: written.versionId }),
      }),
    );
  } catch (error) {
    throw new InfrastructureError(
      `Keeping part 0 of ${FILES[file].what} s3://${written.bucket}/${written.key} failed: ${(error as Error).message}`,
      { cause: error, transient: isTransient(error) },
    );
  }
}

/**
 * Joins a long file's report pieces (or, `file: 'rejected'`, its rejected-rows pieces) into its final key, once: join, record the join in the
 * ledger, then delete the pieces. A retry after any of the three finds the recorded join and
 * only deletes what is left. Returns the joined report (its version, when versioned).
 */
export async function joinReport(
  clients: Pick<Clients, 's3'>,
  config: Pick<Config, 'errorBucket'>,
  ledger: ProgressLedger | undefined,
  upload: UploadRef,
  pieces: ObjectLocation[],
  metadata: Record<string, string> | undefined,
  file: JoinedFile = 'report',
): Promise<StoredObject> {
  const target: ObjectLocation = { bucket: config.errorBucket, key: FILES[file].key(upload.key) };
  let joined = (await ledger?.joinedReport(upload, file)) ?? null;
  if (!joined) {
    const versionId = await concatObjects(
      clients.s3,
      pieces,
      target,
      'text/csv; charset=utf-8',
      metadata,
    );
    joined = versionId ? { ...target, versionId } : target;
    await ledger?.saveJoinedReport(upload, joined, file);
  }
  await deleteObjects(
    clients.s3,
    config.errorBucket,
    pieces.map((piece) => piece.key),
  );
  return joined;
}
