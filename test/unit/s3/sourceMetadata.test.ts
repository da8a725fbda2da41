import { describe, expect, it } from 'vitest';
import { sourceMetadata } from '../../../src/s3/sourceMetadata.ts';

describe('Function: sourceMetadata', () => {
  it('names the upload by the identifiers S3 gave it', () => {
    // Act
    const metadata = sourceMetadata({
      bucket: 'inbound',
      key: 'term1/roster.csv',
      versionId: 'v1.abc_DEF',
      eTag: '"0123abcd"',
      sequencer: '0055AED6DCD90281E5',
    });

    // Assess: the key is not there (the copy has the same key), quotes are gone.
    expect(metadata).toEqual({
      'source-bucket': 'inbound',
      'source-version-id': 'v1.abc_DEF',
      'source-etag': '0123abcd',
      'source-sequencer': '0055AED6DCD90281E5',
    });
  });

  it('names the batch job that reprocessed a file', () => {
    expect(sourceMetadata({ bucket: 'errors', key: 'x.csv', jobId: 'job-1' })).toEqual({
      'source-bucket': 'errors',
      'source-job-id': 'job-1',
    });
  });

  it('leaves out a value that would not travel as an HTTP header, and bounds the others', () => {
    // Act
    const metadata = sourceMetadata({
      bucket: 'inbound',
      key: 'x.csv',
      versionId: 'line\r\nbreak',
      sequencer: 'A'.repeat(5_000),
    });

    // Assess
    expect(metadata['source-version-id']).toBeUndefined();
    expect(metadata['source-sequencer']?.length).toBe(200);
  });
});
