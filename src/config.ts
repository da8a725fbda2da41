import { SOURCE_ENCODINGS, type SourceEncoding } from './csv/encodings.ts';
import { type Datasets, loadDatasets } from './datasets.ts';
import { ConfigError } from './errors.ts';

export type ErrorPolicy = 'skip' | 'strict';

/** What to do with a header column the schema does not name: leave it out, or reject the file. */
export type UnknownColumnsPolicy = 'ignore' | 'reject';

export interface Config {
  /** TABLE_NAME: the table of a one-dataset setup; a declared dataset's is in `datasets`. */
  tableName: string | undefined;
  /** What each inbound key loads into: schemas compiled, tables named (see datasets.ts). */
  datasets: Datasets;
  archiveBucket: string;
  errorBucket: string;
  topicArn: string;
  /** The bucket events are expected from; events from archive/error are ignored either way. */
  inboundBucket: string | undefined;
  /** Ledger table: idempotency records and how far each upload got. */
  idempotencyTable: string;
  forcePathStyle: boolean;
  /** BatchWriteItem calls in flight per file at most; the writer follows the table below that. */
  writeConcurrency: number;
  /** A write gives up when the table accepted no item at all for this long. */
  writeStallMs: number;
  errorPolicy: ErrorPolicy;
  unknownColumns: UnknownColumnsPolicy;
  /** What a file without a byte order mark is read as (`auto`: UTF-8, else Windows-1252). */
  sourceEncoding: SourceEncoding;
  /** Rejected/total rate that fails a file, checked once MIN_ROWS_FOR_ERROR_RATE rows were read. */
  maxErrorRate: number;
  /** Objects larger than this are moved with multipart copy (S3 CopyObject stops at 5 GB). */
  multipartCopyThresholdBytes: number;
  /** Stop and hand the rest of a file to a new invocation when less time than this is left. */
  continuationMarginMs: number;
  /** How often a long file logs its progress. */
  progressIntervalMs: number;
  /** A long file that needs more invocations than this ends as FAILED (a guard against a loop). */
  maxParts: number;
  /** This function's name (set by Lambda): long files continue in it; none means no continuation. */
  functionName: string | undefined;
}

export const DEFAULTS = {
  writeConcurrency: 16,
  writeStallMs: 120_000,
  errorPolicy: 'skip' as ErrorPolicy,
  unknownColumns: 'ignore' as UnknownColumnsPolicy,
  sourceEncoding: 'utf-8' as SourceEncoding,
  maxErrorRate: 0.5,
  multipartCopyThresholdBytes: 5 * 1024 ** 3,
  continuationMarginMs: 60_000,
  progressIntervalMs: 10_000,
  // 500 parts of 15 minutes are 5 days: within the week after which _ingest/ work expires.
  maxParts: 500,
};

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(`Missing required environment variable ${name}`);
  return value;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new ConfigError(`${name} must be true or false, got "${value}"`);
}

function oneOf<T extends string>(env: Env, name: string, values: readonly T[], fallback: T): T {
  const value = optional(env, name) ?? fallback;
  if (!(values as readonly string[]).includes(value)) {
    throw new ConfigError(
      `${name} must be ${values.map((v) => `"${v}"`).join(' or ')}, got "${value}"`,
    );
  }
  return value as T;
}

function number(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be a number from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

/**
 * Reads and checks the configuration once, at cold start: a missing or malformed variable is an
 * error that names it, instead of a failure halfway through the first file.
 */
export function loadConfig(env: Env = process.env): Config {
  const policy = optional(env, 'ERROR_POLICY') ?? DEFAULTS.errorPolicy;
  if (policy !== 'skip' && policy !== 'strict') {
    throw new ConfigError(`ERROR_POLICY must be "skip" or "strict", got "${policy}"`);
  }
  const config: Config = {
    tableName: optional(env, 'TABLE_NAME'),
    // Every schema is compiled here: a bad one fails the cold start, naming its file.
    datasets: loadDatasets(env),
    archiveBucket: required(env, 'ARCHIVE_BUCKET'),
    errorBucket: required(env, 'ERROR_BUCKET'),
    topicArn: required(env, 'TOPIC_ARN'),
    inboundBucket: optional(env, 'INBOUND_BUCKET'),
    idempotencyTable: required(env, 'IDEMPOTENCY_TABLE'),
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', false),
    writeConcurrency: Math.floor(
      number(env, 'WRITE_CONCURRENCY', DEFAULTS.writeConcurrency, 1, 256),
    ),
    writeStallMs: number(env, 'WRITE_STALL_MS', DEFAULTS.writeStallMs, 100, 3_600_000),
    errorPolicy: policy,
    unknownColumns: oneOf(env, 'UNKNOWN_COLUMNS', ['ignore', 'reject'], DEFAULTS.unknownColumns),
    sourceEncoding: oneOf(env, 'SOURCE_ENCODING', SOURCE_ENCODINGS, DEFAULTS.sourceEncoding),
    maxErrorRate: number(env, 'MAX_ERROR_RATE', DEFAULTS.maxErrorRate, 0, 1),
    multipartCopyThresholdBytes: number(
      env,
      'MULTIPART_COPY_THRESHOLD_BYTES',
      DEFAULTS.multipartCopyThresholdBytes,
      5 * 1024 ** 2,
      5 * 1024 ** 3,
    ),
    continuationMarginMs: number(
      env,
      'CONTINUATION_MARGIN_MS',
      DEFAULTS.continuationMarginMs,
      0,
      900_000,
    ),
    progressIntervalMs: number(
      env,
      'PROGRESS_INTERVAL_MS',
      DEFAULTS.progressIntervalMs,
      100,
      3_600_000,
    ),
    maxParts: Math.floor(number(env, 'MAX_PARTS', DEFAULTS.maxParts, 1, 1_000_000)),
    functionName: optional(env, 'AWS_LAMBDA_FUNCTION_NAME'),
  };
  // A file moved into the bucket it came from would trigger the function again, forever.
  for (const [name, bucket] of [
    ['ARCHIVE_BUCKET', config.archiveBucket],
    ['ERROR_BUCKET', config.errorBucket],
  ] as const) {
    if (config.inboundBucket && bucket === config.inboundBucket) {
      throw new ConfigError(`${name} must differ from INBOUND_BUCKET (${bucket}): it would loop`);
    }
  }
  return config;
}
