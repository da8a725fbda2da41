import { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { SkipReason, UploadRef } from '../types.ts';

export type OpenedObject =
  | {
      kind: 'stream';
      body: Readable;
      size: number;
      versionId: string | undefined;
      eTag: string | undefined;
    }
  | { kind: 'missing'; reason: Extract<SkipReason, 'OBJECT_GONE' | 'SUPERSEDED'>; detail: string };

function errorName(error: unknown): string {
  const e = error as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (e.$metadata?.httpStatusCode === 412) return 'PreconditionFailed';
  return e.name ?? e.Code ?? '';
}

/**
 * Opens the exact upload the event is about as a byte stream: that version when the bucket is
 * versioned, else only while its ETag still matches, so a redelivered event never processes a
 * newer upload of the same name (that upload has its own event). `start` reads from an offset.
 */
export async function openObject(
  s3: S3Client,
  upload: UploadRef,
  start = 0,
): Promise<OpenedObject> {
  try {
    const out = await s3.send(
      new GetObjectCommand({
        Bucket: upload.bucket,
        Key: upload.key,
        VersionId: upload.versionId,
        IfMatch: upload.versionId ? undefined : upload.eTag && `"${upload.eTag.replace(/"/g, '')}"`,
        Range: start > 0 ? `bytes=${start}-` : undefined,
      }),
    );
    if (!out.Body) throw new Error('GetObject returned no body');
    const size = out.ContentRange
      ? Number(out.ContentRange.split('/')[1])
      : (out.ContentLength ?? 0);
    return {
      kind: 'stream',
      body: out.Body as Readable,
      size,
      versionId: out.VersionId,
      eTag: out.ETag?.replace(/"/g, ''),
    };
  } catch (error) {
    const name = errorName(error);
    if (name === 'NoSuchKey' || name === 'NoSuchVersion' || name === 'NotFound') {
      return {
        kind: 'missing',
        reason: 'OBJECT_GONE',
        detail: `s3://${upload.bucket}/${upload.key} no longer exists (already processed?)`,
      };
    }
    if (name === 'PreconditionFailed') {
      return {
        kind: 'missing',
        reason: 'SUPERSEDED',
        detail: `s3://${upload.bucket}/${upload.key} was replaced by a newer upload, which its own event will process`,
      };
    }
    if (name === 'InvalidRange' && start > 0) {
      // A continuation that starts exactly at the end of the file has nothing left to read.
      return {
        kind: 'stream',
        body: Readable.from([]),
        size: start,
        versionId: upload.versionId,
        eTag: upload.eTag,
      };
    }
    throw new InfrastructureError(
      `GetObject s3://${upload.bucket}/${upload.key} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
