import { describe, expect, it } from 'vitest';
import { DEFAULTS, loadConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

const base = {
  TABLE_NAME: 'students',
  ARCHIVE_BUCKET: 'archive',
  ERROR_BUCKET: 'errors',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:ingest-summaries',
  IDEMPOTENCY_TABLE: 'ingest-ledger',
};

function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('Function: loadConfig', () => {
  it('reads the required settings and fills in the defaults', () => {
    // Act
    const config = loadConfig(base);

    // Assess
    expect(config).toMatchObject({
      tableName: 'students',
      archiveBucket: 'archive',
      errorBucket: 'errors',
      topicArn: base.TOPIC_ARN,
      idempotencyTable: 'ingest-ledger',
      inboundBucket: undefined,
      forcePathStyle: false,
      writeConcurrency: DEFAULTS.writeConcurrency,
      writeStallMs: 120_000,
      errorPolicy: 'skip',
      unknownColumns: 'ignore',
      sourceEncoding: 'utf-8',
      maxErrorRate: DEFAULTS.maxErrorRate,
      multipartCopyThresholdBytes: DEFAULTS.multipartCopyThresholdBytes,
    });
  });

  it('reads the optional settings', () => {
    // Act
    const config = loadConfig({
      ...base,
      INBOUND_BUCKET: 'inbound',
      S3_FORCE_PATH_STYLE: 'TRUE',
      WRITE_CONCURRENCY: '8.9',
      WRITE_STALL_MS: '30000',
      ERROR_POLICY: 'strict',
      UNKNOWN_COLUMNS: 'reject',
      SOURCE_ENCODING: 'auto',
      MAX_ERROR_RATE: '0',
    });

    // Assess
    expect(config).toMatchObject({
      inboundBucket: 'inbound',
      forcePathStyle: true,
      writeConcurrency: 8,
      writeStallMs: 30_000,
      errorPolicy: 'strict',
      unknownColumns: 'reject',
      sourceEncoding: 'auto',
      maxErrorRate: 0,
    });
  });

  it.each(['TABLE_NAME', 'ARCHIVE_BUCKET', 'ERROR_BUCKET', 'TOPIC_ARN', 'IDEMPOTENCY_TABLE'])(
    'names %s when it is missing, empty or blank',
    (name) => {
      // Act
      const missing = configError({ ...base, [name]: undefined });
      const blank = configError({ ...base, [name]: '   ' });

      // Assess
      expect(missing.message).toBe(`Missing required environment variable ${name}`);
      expect(blank.message).toBe(`Missing required environment variable ${name}`);
      expect(missing.name).toBe('ConfigError');
    },
  );

  it.each([
    ['S3_FORCE_PATH_STYLE', 'maybe', 'S3_FORCE_PATH_STYLE must be true or false, got "maybe"'],
    ['WRITE_CONCURRENCY', '0', 'WRITE_CONCURRENCY must be a number from 1 to 256, got "0"'],
    ['WRITE_CONCURRENCY', 'lots', 'WRITE_CONCURRENCY must be a number from 1 to 256, got "lots"'],
    ['WRITE_STALL_MS', '50', 'WRITE_STALL_MS must be a number from 100 to 3600000, got "50"'],
    ['MAX_ERROR_RATE', '1.5', 'MAX_ERROR_RATE must be a number from 0 to 1, got "1.5"'],
    ['MAX_ERROR_RATE', '-0.1', 'MAX_ERROR_RATE must be a number from 0 to 1, got "-0.1"'],
    ['ERROR_POLICY', 'lenient', 'ERROR_POLICY must be "skip" or "strict", got "lenient"'],
    ['UNKNOWN_COLUMNS', 'drop', 'UNKNOWN_COLUMNS must be "ignore" or "reject", got "drop"'],
    [
      'SOURCE_ENCODING',
      'latin1',
      'SOURCE_ENCODING must be "utf-8" or "windows-1252" or "auto", got "latin1"',
    ],
    [
      'MULTIPART_COPY_THRESHOLD_BYTES',
      '1024',
      'MULTIPART_COPY_THRESHOLD_BYTES must be a number from 5242880 to 5368709120, got "1024"',
    ],
  ])('refuses %s=%j, naming it and the value', (name, value, message) => {
    // Act & Assess
    expect(configError({ ...base, [name]: value }).message).toBe(message);
  });

  it.each(['ARCHIVE_BUCKET', 'ERROR_BUCKET'])(
    'refuses %s equal to INBOUND_BUCKET: the moved file would trigger the function again',
    (name) => {
      // Act
      const error = configError({ ...base, INBOUND_BUCKET: 'same', [name]: 'same' });

      // Assess
      expect(error.message).toBe(`${name} must differ from INBOUND_BUCKET (same): it would loop`);
    },
  );

  it('reads process.env by default', () => {
    // Prepare
    const saved = { ...process.env };
    Object.assign(process.env, base, { TABLE_NAME: 'from-process-env' });

    try {
      // Act & Assess
      expect(loadConfig().tableName).toBe('from-process-env');
    } finally {
      for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
