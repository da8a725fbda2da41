import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Config } from '../config.ts';
import { KeyTracker } from '../dynamo/KeyTracker.ts';
import { InfrastructureError } from '../errors.ts';
import { logger } from '../observability.ts';
import { isTransient } from '../retry.ts';
import type { Clients, UploadRef } from '../types.ts';
import { keySetLocation } from './scratch.ts';

type Where = Pick<Config, 'errorBucket'>;

function failure(action: string, key: string, error: unknown): InfrastructureError {
  return new InfrastructureError(
    `${action} the key set ${key} failed: ${(error as Error).message}`,
    {
      cause: error,
      transient: isTransient(error),
    },
  );
}

/**
 * The table keys a long file produced before part `part` (hashes only, see KeyTracker), so a
 * key repeated in a later part is counted as a duplicate. Part 0 starts empty.
 */
export async function loadKeySet(
  clients: Pick<Clients, 's3'>,
  config: Where,
  upload: UploadRef,
  part: number,
): Promise<KeyTracker> {
  if (part === 0) return new KeyTracker();
  const { bucket, key } = keySetLocation(config, upload, part);
  try {
    const out = await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return KeyTracker.fromBuffer((await out.Body?.transformToByteArray()) ?? new Uint8Array());
  } catch (error) {
    if ((error as Error).name !== 'NoSuchKey') throw failure('Reading', key, error);
    // Only a part handed over by a version without key sets: its rows still load, last wins.
    logger.warn('No key set for this part: duplicates of earlier parts are not counted', { part });
    return new KeyTracker();
  }
}

/** Saves the keys seen so far for part `part`, before the checkpoint that hands it on. */
export async function saveKeySet(
  clients: Pick<Clients, 's3'>,
  config: Where,
  upload: UploadRef,
  part: number,
  seen: KeyTracker,
): Promise<void> {
  const { bucket, key } = keySetLocation(config, upload, part);
  try {
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: seen.toBuffer(),
        ContentType: 'application/octet-stream',
      }),
    );
  } catch (error) {
    throw failure('Saving', key, error);
  }
}

/**
 * Deletes part `part`'s key set once the ledger has recorded a later step. A failure only leaves
 * working data behind for the `_ingest/` lifecycle rule, so it is logged, not thrown.
 */
export async function dropKeySet(
  clients: Pick<Clients, 's3'>,
  config: Where,
  upload: UploadRef,
  part: number,
): Promise<void> {
  if (part === 0) return;
  const { bucket, key } = keySetLocation(config, upload, part);
  try {
    await clients.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    logger.warn('Could not delete a key set; the _ingest/ lifecycle rule will', {
      part,
      error: (error as Error).message,
    });
  }
}
