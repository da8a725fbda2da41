import { PassThrough, type Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { ObjectLocation } from '../types.ts';

/**
 * Streams several objects, in order, into one (a report written by several invocations of a long
 * file). The pieces are left in place: the caller records the join before deleting them, so a
 * retry never joins twice. Memory stays at one upload part. Returns the joined object's version
 * id, when the bucket is versioned.
 */
export async function concatObjects(
  s3: S3Client,
  sources: ObjectLocation[],
  target: ObjectLocation,
  contentType: string,
  metadata?: Record<string, string>,
): Promise<string | undefined> {
  const body = new PassThrough();
  const upload = new Upload({
    client: s3,
    params: {
      Bucket: target.bucket,
      Key: target.key,
      Body: body,
      ContentType: contentType,
      Metadata: metadata,
    },
  });
  const done = upload.done();
  try {
    for (const source of sources) {
      const out = await s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }));
      for await (const chunk of out.Body as Readable) {
        if (!body.write(chunk)) await new Promise((resolve) => body.once('drain', resolve));
      }
    }
    body.end();
    const { VersionId: versionId } = await done;
    return versionId === 'null' ? undefined : versionId;
  } catch (error) {
    body.destroy();
    await upload.abort().catch(() => undefined);
    throw new InfrastructureError(
      `Assembling s3://${target.bucket}/${target.key} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
