import { pipeline, type Readable, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** A `.csv.gz` key (any casing): the object is gzip and is read through gunzip. */
export const isGzipKey = (key: string): boolean => /\.csv\.gz$/i.test(key);

/** Drops the first `count` bytes: a continuation of a compressed file skips what came before. */
class SkipBytes extends Transform {
  public constructor(private left: number) {
    super();
  }

  public override _transform(chunk: Buffer, _: BufferEncoding, callback: TransformCallback): void {
    if (this.left >= chunk.length) {
      this.left -= chunk.length;
      callback();
      return;
    }
    const rest = this.left > 0 ? chunk.subarray(this.left) : chunk;
    this.left = 0;
    callback(null, rest);
  }
}

/**
 * The decompressed bytes of a gzip object from decompressed offset `from` on. A byte range of a
 * gzip stream cannot be inflated on its own, so a continuation inflates from the start and skips
 * (see docs/long-files.md, "Compressed files continue too", for what that costs).
 */
export function inflate(body: Readable, from: number): Readable {
  const gunzip = createGunzip();
  if (from === 0) {
    // An error of either stream destroys both, and the reader sees it.
    return pipeline(body, gunzip, () => undefined);
  }
  return pipeline(body, gunzip, new SkipBytes(from), () => undefined);
}
