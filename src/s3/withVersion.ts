import type { StoredObject } from '../types.ts';

/** The location with the version S3 gave the object, when the bucket is versioned. */
export function withVersion(location: StoredObject, versionId: string | undefined): StoredObject {
  return versionId ? { ...location, versionId } : location;
}
