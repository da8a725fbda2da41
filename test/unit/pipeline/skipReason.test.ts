import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config.ts';
import { skipReason } from '../../../src/pipeline/skipReason.ts';

const config = loadConfig({
  TABLE_NAME: 'students',
  ARCHIVE_BUCKET: 'archive',
  ERROR_BUCKET: 'errors',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:summaries',
  IDEMPOTENCY_TABLE: 'ledger',
});

describe('Function: skipReason, rejected-rows files (issue 18)', () => {
  it('skips a .rejected.csv in the error bucket, even in a batch job that reprocesses it', () => {
    // Act
    const outcome = skipReason(
      { bucket: 'errors', key: 'term1/students.rejected.csv', jobId: 'job-1' },
      config,
    );

    // Assess
    expect(outcome).toMatchObject({ kind: 'skipped', reason: 'OWN_OUTPUT_BUCKET' });
    expect(outcome?.kind === 'skipped' && outcome.detail).toContain('inbound bucket');
  });

  it('loads a .rejected.csv dropped in the inbound bucket like any upload', () => {
    // Act & Assess
    expect(
      skipReason({ bucket: 'inbound', key: 'term1/students.rejected.csv' }, config),
    ).toBeNull();
    expect(skipReason({ bucket: 'inbound', key: 'Students.REJECTED.CSV' }, config)).toBeNull();
  });

  it('still lets a batch job reprocess an ordinary file of the error bucket', () => {
    // Act & Assess
    expect(
      skipReason({ bucket: 'errors', key: 'term1/students.csv', jobId: 'job-1' }, config),
    ).toBeNull();
  });
});
