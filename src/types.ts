import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FileErrorCode, RowErrorCode } from './errors.ts';

/** A student enrolment as stored in the table: every column is a string. */
export type StudentRecord = Record<string, string>;

/** One S3 object version to ingest: the unit of work and of idempotency. */
export interface UploadRef {
  bucket: string;
  /** The decoded object key (never the URL-encoded form that events carry). */
  key: string;
  versionId?: string | undefined;
  eTag?: string | undefined;
  size?: number | undefined;
  /** S3's per-key event order, used to tell a redelivery from a re-upload without versioning. */
  sequencer?: string | undefined;
  /** S3 Batch Operations job id, when a batch job drives the pipeline. */
  jobId?: string | undefined;
}

/** A rejected row, or the reason a whole file was rejected (`field` empty, `line` where known). */
export interface RowError {
  line: number;
  field: string;
  value: string;
  error: string;
  code: RowErrorCode | FileErrorCode;
}

/** SUPERSEDED: a newer upload of the same name had started; this one's rows were not (all) loaded. */
export type IngestStatus = 'SUCCEEDED' | 'PARTIAL' | 'FAILED' | 'SUPERSEDED';

export interface RowCounts {
  /** Data rows read (the header is not a row). */
  total: number;
  /** Distinct valid rows put into the table. */
  written: number;
  rejected: number;
  /** Valid rows whose key repeated a later row of the same file (the later one won). */
  duplicates: number;
}

export interface ObjectLocation {
  bucket: string;
  key: string;
}

/** An object this service wrote: on a versioned bucket, the version that belongs to one upload. */
export interface StoredObject extends ObjectLocation {
  versionId?: string | undefined;
}

/** The table's push-back, summed over every part of a file (small numbers: kept in checkpoints). */
export interface WriteTotals {
  /** BatchWriteItem calls, repeats included. */
  calls: number;
  /** Calls answered with UnprocessedItems or a throttling error. */
  throttled: number;
  /** Calls rejected whole by a throttling error. */
  rejected: number;
  /** The pace the writer had learned (items/s) when a part handed over; absent: not limited. */
  rate?: number | undefined;
}

/** What the summary says about the writes. */
export interface WriteSummary {
  calls: number;
  throttled: number;
  rejected: number;
  /** Rows written per second of the load (all parts, from the first read to the last write). */
  rowsPerSecond: number;
}

/** The outcome of one file: what the summary, the batch result code and the logs are made of. */
export interface IngestResult {
  status: IngestStatus;
  /** The upload: its version (versioned bucket) and S3's sequencer tell it from others of its name. */
  source: StoredObject & { sequencer?: string | undefined };
  destination: StoredObject | null;
  report: StoredObject | null;
  rows: RowCounts;
  /** The first few problems (the report holds them all). */
  errors: RowError[];
  /** Set when the file itself was rejected. */
  fileError: { code: FileErrorCode; message: string } | null;
  durationMs: number;
  /** How the writes went; absent when nothing was written. */
  writes?: WriteSummary | undefined;
}

/** Why an event was not processed at all. Logged, never summarised. */
export type SkipReason =
  | 'NOT_CSV'
  | 'OBJECT_GONE'
  | 'SUPERSEDED'
  | 'OWN_OUTPUT_BUCKET'
  | 'NOT_OBJECT_CREATED';

export type IngestOutcome = (
  | { kind: 'processed'; result: IngestResult }
  | { kind: 'skipped'; reason: SkipReason; detail: string }
  /** A long file: this invocation did its part and handed the rest to the next one. */
  | { kind: 'continued'; part: number; offset: number; rows: RowCounts }
) & {
  /** True when this is the stored outcome of an earlier delivery of the same upload. */
  replayed?: boolean;
};

/** The SDK clients, created once per container and handed down to the pipeline. */
export interface Clients {
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  /** The hot write path (BatchWriteItem): low-level, one attempt per call (see clients.ts). */
  writes: DynamoDBClient;
  sns: SNSClient;
  /** Needed only to hand a long file to a next invocation. */
  lambda?: LambdaClient;
}
