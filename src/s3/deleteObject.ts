import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { UploadRef } from '../types.ts';

/**
 * Deletes the processed upload from the inbound bucket: that version only, when the bucket is
 * versioned, so a newer upload of the same name that arrived meanwhile is left to its own event.
 */
export async function deleteObject(s3: S3Client, upload: UploadRef): Promise<void> {
  try {
    await s3.send(
      new DeleteObjectCommand({
        Bucket: upload.bucket,
        Key: upload.key,
        VersionId: upload.versionId,
      }),
    );
  } catch (error) {
    throw new InfrastructureError(
      `DeleteObject s3://${upload.bucket}/${upload.key} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
