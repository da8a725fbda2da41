import { paginateListObjectsV2, type S3Client } from '@aws-sdk/client-s3';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { ObjectLocation } from '../types.ts';

export interface ListFilter {
  bucket: string;
  prefix?: string | undefined;
  /** Compared case-insensitively, as the pipeline compares `.csv`. */
  suffix?: string | undefined;
  /** Keys to leave out, e.g. the pipeline's own `.errors.csv` reports. */
  exclude?: (key: string) => boolean;
}

/** Every object under a prefix with a suffix, page by page (ListObjectsV2, 1,000 keys a page). */
export async function* listObjects(
  s3: S3Client,
  filter: ListFilter,
): AsyncGenerator<ObjectLocation> {
  const suffix = filter.suffix?.toLowerCase();
  const pages = paginateListObjectsV2(
    { client: s3 },
    { Bucket: filter.bucket, Prefix: filter.prefix || undefined },
  );
  try {
    for await (const page of pages) {
      for (const { Key: key } of page.Contents ?? []) {
        if (!key || key.endsWith('/')) continue; // "folder" placeholders
        if (suffix && !key.toLowerCase().endsWith(suffix)) continue;
        if (filter.exclude?.(key)) continue;
        yield { bucket: filter.bucket, key };
      }
    }
  } catch (error) {
    throw new InfrastructureError(
      `Listing s3://${filter.bucket}/${filter.prefix ?? ''} failed: ${(error as Error).message}`,
      { cause: error, transient: isTransient(error) },
    );
  }
}
