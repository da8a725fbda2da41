import { stringify } from 'csv-stringify/sync';
import type { ObjectLocation } from '../types.ts';

/**
 * An S3 Batch Operations manifest (`S3BatchOperations_CSV_20180820`, fields Bucket and Key): one
 * `bucket,key` line per object, no header. Keys must be URL-encoded; encodeURIComponent writes a
 * space as `%20` (as AWS's manifest example does) and a plus as `%2B`, so the key reads back the
 * same whether the reader decodes `+` as a space or not. Fields are CSV-quoted where needed.
 */
export function writeManifest(objects: Iterable<ObjectLocation>): string {
  const rows = Array.from(objects, ({ bucket, key }) => [bucket, encodeURIComponent(key)]);
  return stringify(rows, { record_delimiter: 'unix' });
}
