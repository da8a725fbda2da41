import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  type HeadObjectCommandOutput,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { ObjectLocation, UploadRef } from '../types.ts';

/** S3 refuses user metadata over 2 KB (names and values together). */
const MAX_METADATA_BYTES = 2048;

/** S3's own limits for multipart uploads. */
const MIN_PART_BYTES = 5 * 1024 ** 2;
const MAX_PARTS = 10_000;
/** Large parts mean fewer requests; 10,000 of them still reach S3's 5 TB object limit. */
const PREFERRED_PART_BYTES = 512 * 1024 ** 2;
const PARTS_IN_FLIGHT = 8;

/** The x-amz-copy-source header: URL-encoded key, slashes kept, the exact version when known. */
export function copySource(upload: Pick<UploadRef, 'bucket' | 'key' | 'versionId'>): string {
  const key = encodeURIComponent(upload.key).replace(/%2F/g, '/');
  const version = upload.versionId ? `?versionId=${encodeURIComponent(upload.versionId)}` : '';
  return `${upload.bucket}/${key}${version}`;
}

/** Part size for a multipart copy: as large as preferred, never more parts than S3 allows. */
export function partSizeFor(size: number, threshold: number): number {
  const wanted = Math.min(PREFERRED_PART_BYTES, Math.max(threshold, MIN_PART_BYTES));
  return Math.max(wanted, Math.ceil(size / MAX_PARTS), MIN_PART_BYTES);
}

function fail(action: string, where: string, error: unknown): never {
  throw new InfrastructureError(`${action} ${where} failed: ${(error as Error).message}`, {
    cause: error,
    transient: isTransient(error),
  });
}

/** CopyObject stops at 5 GB: larger objects are copied in ranged parts, several at once. */
async function multipartCopy(
  s3: S3Client,
  upload: UploadRef,
  size: number,
  to: ObjectLocation,
  threshold: number,
  headers: Partial<ReturnType<typeof copiedHeaders>>,
): Promise<string | undefined> {
  const created = await s3.send(
    new CreateMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, ...headers }),
  );
  const uploadId = created.UploadId;
  if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
  try {
    const partSize = partSizeFor(size, threshold);
    const count = Math.max(1, Math.ceil(size / partSize));
    const etags: string[] = new Array(count);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const index = next++;
        const first = index * partSize;
        const last = Math.min(size, first + partSize) - 1;
        const out = await s3.send(
          new UploadPartCopyCommand({
            Bucket: to.bucket,
            Key: to.key,
            UploadId: uploadId,
            PartNumber: index + 1,
            CopySource: copySource(upload),
            CopySourceRange: `bytes=${first}-${last}`,
          }),
        );
        const etag = out.CopyPartResult?.ETag;
        if (!etag) throw new Error(`UploadPartCopy of part ${index + 1} returned no ETag`);
        etags[index] = etag;
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARTS_IN_FLIGHT, count) }, worker));
    const completed = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: to.bucket,
        Key: to.key,
        UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }),
    );
    return completed.VersionId;
  } catch (error) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: to.bucket, Key: to.key, UploadId: uploadId }))
      .catch(() => undefined);
    throw error;
  }
}

/**
 * The source's own headers and user metadata, with `metadata` added: a copy that names its
 * upload must replace the metadata, and would otherwise lose the content type. The source's
 * metadata is left out when both would pass S3's 2 KB.
 */
function copiedHeaders(source: HeadObjectCommandOutput, metadata: Record<string, string>) {
  const merged = { ...source.Metadata, ...metadata };
  const bytes = Object.entries(merged).reduce((n, [k, v]) => n + k.length + v.length, 0);
  return {
    ContentType: source.ContentType,
    ContentEncoding: source.ContentEncoding,
    ContentLanguage: source.ContentLanguage,
    ContentDisposition: source.ContentDisposition,
    CacheControl: source.CacheControl,
    Metadata: bytes > MAX_METADATA_BYTES ? metadata : merged,
  };
}

/**
 * Copies the upload to its destination and proves the copy is there and whole (HeadObject of
 * the version written, same size) before anyone may delete the source: a file is never lost
 * between two buckets. Objects over `multipartThreshold` bytes are copied in parts. With
 * `metadata` the copy carries it (e.g. which upload it is). Returns the copy's version id, when
 * the destination is versioned.
 */
export async function copyObject(
  s3: S3Client,
  upload: UploadRef,
  size: number,
  to: ObjectLocation,
  multipartThreshold = 5 * 1024 ** 3,
  metadata?: Record<string, string>,
): Promise<string | undefined> {
  const where = `s3://${upload.bucket}/${upload.key} → s3://${to.bucket}/${to.key}`;
  const multipart = size > multipartThreshold;
  let versionId: string | undefined;
  try {
    // Multipart copy never carries the source's headers over: they are read either way.
    const headers =
      metadata || multipart
        ? copiedHeaders(
            await s3.send(
              new HeadObjectCommand({
                Bucket: upload.bucket,
                Key: upload.key,
                VersionId: upload.versionId,
              }),
            ),
            metadata ?? {},
          )
        : null;
    if (multipart) {
      versionId = await multipartCopy(s3, upload, size, to, multipartThreshold, headers ?? {});
    } else {
      const out = await s3.send(
        new CopyObjectCommand({
          Bucket: to.bucket,
          Key: to.key,
          CopySource: copySource(upload),
          ...(headers ? { ...headers, MetadataDirective: 'REPLACE' as const } : {}),
        }),
      );
      versionId = out.VersionId;
    }
  } catch (error) {
    fail(multipart ? 'Multipart copy' : 'CopyObject', where, error);
  }
  // "null" is the version id of an object written while versioning was off: not one of its own.
  if (versionId === 'null') versionId = undefined;
  await verifyCopy(s3, { ...to, versionId }, size);
  return versionId;
}

/** Throws unless the object (that version, when given) exists at `to` with the expected size. */
export async function verifyCopy(
  s3: S3Client,
  to: ObjectLocation & { versionId?: string | undefined },
  size: number,
): Promise<void> {
  let length: number | undefined;
  try {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: to.bucket, Key: to.key, VersionId: to.versionId }),
    );
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
