import { createHash } from 'node:crypto';
import type { Config } from '../config.ts';
import { uploadIdentity } from '../ledger/ProgressLedger.ts';
import type { ObjectLocation, UploadRef } from '../types.ts';

/**
 * The error bucket's working area: what a long file hands from one part to the next (report
 * pieces, the set of keys seen). Nothing here is a user's file; events for it are ignored.
 */
export const SCRATCH_PREFIX = '_ingest/';

/** One upload's own folder name: a hash of its identity (bucket, key, version or sequencer or ETag, job). */
export function uploadHash(upload: UploadRef): string {
  return createHash('sha256').update(uploadIdentity(upload)).digest('hex');
}

const pad = (part: number): string => String(part).padStart(5, '0');

/** A scratch object of part `part` of an upload: `<prefix><kind>/<upload hash>/<part><suffix>`. */
function scratchLocation(
  config: Pick<Config, 'errorBucket'>,
  kind: string,
  upload: UploadRef,
  part: number,
  suffix = '',
): ObjectLocation {
  return {
    bucket: config.errorBucket,
    key: `${SCRATCH_PREFIX}${kind}/${uploadHash(upload)}/${pad(part)}${suffix}`,
  };
}

/** Where part `part` of a long file keeps its piece of the rejected-rows report until the join. */
export const reportPieceLocation = (
  config: Pick<Config, 'errorBucket'>,
  upload: UploadRef,
  part: number,
): ObjectLocation => scratchLocation(config, 'parts', upload, part, '.csv');

/** Where the keys seen before part `part` starts are kept (one object per hand-over). */
export const keySetLocation = (
  config: Pick<Config, 'errorBucket'>,
  upload: UploadRef,
  part: number,
): ObjectLocation => scratchLocation(config, 'keys', upload, part);

/** Where part `part` of a long file keeps its piece of the rejected-rows file until the join. */
export const rejectedPieceLocation = (
  config: Pick<Config, 'errorBucket'>,
  upload: UploadRef,
  part: number,
): ObjectLocation => scratchLocation(config, 'rejected', upload, part, '.csv');
