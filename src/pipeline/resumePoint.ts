import type { FileLayout, RowCounts } from '../types.ts';

/** Where reading stopped or resumes: always a record boundary. */
export interface ReadPosition {
  offset: number;
  line: number;
}

/** What a continuation needs to go on where the previous invocation stopped. */
export interface ResumePoint extends ReadPosition {
  layout: FileLayout | null;
  /** The counts as of `replayThrough` (or of the resume position when there is none). */
  rows: RowCounts;
  /**
   * Where the previous part stopped reading, when that is past the resume position (its low
   * watermark): the rows up to here were counted, reported and tracked by that part, and some of
   * their writes not acknowledged, so they are only put again (absent in older checkpoints).
   */
  replayThrough?: ReadPosition | undefined;
}

/**
 * A checkpoint saved by a version before file layouts (a continuation across a deploy) holds only
 * the header mapping: that version read comma-separated UTF-8 files of the schema's columns only.
 */
export function legacyLayout(resume: ResumePoint): FileLayout | null {
  const mapping = (resume as { mapping?: number[] | null }).mapping;
  if (!Array.isArray(mapping)) return null;
  const width = mapping.length;
  return {
    kind: 'header',
    mapping,
    width,
    needed: width,
    notLoaded: [],
    notLoadedCount: 0,
    delimiter: ',',
    encoding: 'utf-8',
  };
}
