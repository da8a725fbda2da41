import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';

/** DeleteObjects takes at most this many keys per call. */
const MAX_KEYS_PER_CALL = 1_000;

/**
 * Deletes keys of one bucket, a thousand per call. A key that is already gone counts as deleted,
 * so a retry after a partial failure is safe.
 */
export async function deleteObjects(s3: S3Client, bucket: string, keys: string[]): Promise<void> {
  for (let at = 0; at < keys.length; at += MAX_KEYS_PER_CALL) {
    const batch = keys.slice(at, at + MAX_KEYS_PER_CALL);
    try {
      const out = await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const [first] = out.Errors ?? [];
      if (first) throw Object.assign(new Error(`${first.Code}: ${first.Message}`), first);
    } catch (error) {
      throw new InfrastructureError(
        `DeleteObjects of ${batch.length} keys in s3://${bucket} failed: ${(error as Error).message}`,
        { cause: error, transient: isTransient(error) },
      );
    }
  }
}
