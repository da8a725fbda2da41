import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { FileErrorCode, RowErrorCode } from './errors.ts';

/** A record as stored in the table: each column typed as the schema says (S, N or BOOL). */
export type StudentRecord = Record<string, string | number | boolean>;

/** How one file's records map to the schema's columns: decided from its first row, kept for its continuations. */
export interface FileLayout {
  /** `data`: no header, the first row is a record in the schema's column order. */
  kind: 'header' | 'data';
  /** For each schema column, the index of the field that holds it. */
  mapping: number[];
  /** Fields a record has: the header's width, Excel's empty trailing cells included. */
  width: number;
  /** Fields a record needs: the header's empty trailing cells (Excel leftovers) may be left out. */
  needed: number;
  /** The field separator, decided from the first line (see detectDelimiter). */
  delimiter: string;
  /**
   * How the bytes are read: a byte order mark, else SOURCE_ENCODING. `auto`: not decided yet
   * (nothing but ASCII so far); it becomes `utf-8` or `windows-1252` once the bytes tell.
   */
  encoding: 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'auto';
  /** Header names of the columns outside the schema, never written (bounded: see resolveHeader). */
  notLoaded: string[];
  /** How many columns were not loaded (`notLoaded` names at most the first few). */
  notLoadedCount: number;
  /**
   * Runs of columns with an empty header cell, as [first, end) field indices (Excel's stray
   * columns), never loaded. One that turns out to hold a value is named in the summary, so no
   * value is dropped unsaid. Absent in layouts saved before this field.
   */
  unnamed?: [number, number][];
  /** A column of each unnamed run found holding a value so far, carried from part to part. */
  unnamedFilled?: number[];
  /**
   * The file's header cells (each bounded), without the `error` column of a rejected-rows file
   * sent back: the header of its own rejected-rows file, in every part. Absent in old layouts.
   */
  header?: string[];
  /** The file is a rejected-rows file sent back (its last column is `error`): cells lose their guard. */
  sentBack?: boolean;
}

/** What the summary says about how a file was read. */
export interface CsvDescription {
  /** The field separator, when it was not a comma. */
  separator?: string;
  /** How the file was decoded, when it was not UTF-8: `UTF-16 LE`, `UTF-16 BE`, `Windows-1252`. */
  encoding?: string;
  /** Header names of the columns left out (at most 10, each bounded), and how many there were. */
  columnsNotLoaded?: string[];
  columnsNotLoadedCount?: number;
}

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

/** A rejected row as named outside the private report: line, field and reason, never the value. */
export type RowProblem = Omit<RowError, 'value'>;

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
  /** The declared dataset the key picked; absent in a one-dataset setup without a declaration. */
  dataset?: string;
  /** The upload: its version (versioned bucket) and S3's sequencer tell it from others of its name. */
  source: StoredObject & { sequencer?: string | undefined };
  destination: StoredObject | null;
  report: StoredObject | null;
  /** The rejected rows as a file to fix and upload again (see docs/rejected-rows.md). */
  rejected?: StoredObject | undefined;
  rows: RowCounts;
  /** The first few problems (the report holds them all, with their values). */
  errors: RowProblem[];
  /** Set when the file itself was rejected. */
  fileError: { code: FileErrorCode; message: string } | null;
  /** How the file was read, when it was not a plain comma-separated UTF-8 file of schema columns. */
  csv?: CsvDescription;
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
  | 'NOT_OBJECT_CREATED'
  /** The key is under no declared dataset's prefix, and no dataset is the default. */
  | 'NO_DATASET';

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
