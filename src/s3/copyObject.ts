import { CopyObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { ObjectLocation, UploadRef } from '../types.ts';

/** The x-amz-copy-source header: URL-encoded key, slashes kept, the exact version when known. */
export function copySource(upload: Pick<UploadRef, 'bucket' | 'key' | 'versionId'>): string {
  const key = encodeURIComponent(upload.key).replace(/%2F/g, '/');
  const version = upload.versionId ? `?versionId=${encodeURIComponent(upload.versionId)}` : '';
  return `${upload.bucket}/${key}${version}`;
}

function fail(action: string, where: string, error: unknown): never {
  throw new InfrastructureError(`${action} ${where} failed: ${(error as Error).message}`, {
    cause: error,
    transient: isTransient(error),
  });
}

/**
 * Copies the upload to its destination and proves the copy is there and whole (HeadObject, same
 * size) before anyone may delete the source: a file is never lost between two buckets.
 */
export async function copyObject(
  s3: S3Client,
  upload: UploadRef,
  size: number,
  to: ObjectLocation,
): Promise<void> {
  const where = `s3://${upload.bucket}/${upload.key} → s3://${to.bucket}/${to.key}`;
  try {
    await s3.send(
      new CopyObjectCommand({ Bucket: to.bucket, Key: to.key, CopySource: copySource(upload) }),
    );
  } catch (error) {
    fail('CopyObject', where, error);
  }
  await verifyCopy(s3, to, size);
}

/** Throws unless the object exists at `to` with the expected size. */
export async function verifyCopy(s3: S3Client, to: ObjectLocation, size: number): Promise<void> {
  let length: number | undefined;
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: to.bucket, Key: to.key }));
    length = head.ContentLength;
  } catch (error) {
    fail('HeadObject', `s3://${to.bucket}/${to.key}`, error);
  }
  if (length !== size) {
    throw new InfrastructureError(
      `Copy to s3://${to.bucket}/${to.key} is ${length} bytes, expected ${size}: source kept`,
    );
  }
}
