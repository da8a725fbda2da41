import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type {
  FileLayout,
  IngestResult,
  RowCounts,
  RowProblem,
  StoredObject,
  UploadRef,
  WriteTotals,
} from '../types.ts';

/**
 * How far an upload got, in order. A retry resumes at the first step not done: rows are never
 * counted twice, the file is never copied after its source is gone, the summary is sent once.
 */
export const STAGES = ['LOADING', 'LOADED', 'COPIED', 'DELETED', 'PUBLISHED'] as const;
export type Stage = (typeof STAGES)[number];

/** The files a long file's parts write in pieces: the report, and the rejected rows (issue 18). */
export type JoinedFile = 'report' | 'rejected';

/** Where a long file stopped, so the next invocation goes on from there (see loadRows). */
export interface Checkpoint {
  /** The part (invocation) that runs next; part 0 is the one the S3 event started. */
  part: number;
  /** Under the strict policy a file is read twice: first to check, then to write. */
  pass: 'check' | 'write';
  /** Where the next part starts reading: the low watermark of the writes acknowledged. */
  offset: number;
  line: number;
  /**
   * Where the previous part stopped reading, when its writes were not all acknowledged: `rows`,
   * the report and the key set are as of here, and the rows between `offset` and here are only
   * put again (absent when nothing is replayed, and in checkpoints saved before it was kept).
   */
  replayThrough?: { offset: number; line: number } | undefined;
  /** The file's layout, decided by part 0 from its first row. */
  layout: FileLayout | null;
  rows: RowCounts;
  /** How many report lines were written, and by which parts (part 0 writes the final key). */
  reportCount: number;
  reportParts: number[];
  /** Which parts wrote a piece of the rejected-rows file (absent in older checkpoints: none). */
  rejectedParts?: number[] | undefined;
  rejectedCount?: number | undefined;
  firstErrors: RowProblem[];
  startedAt: number;
  /** The writes of the parts so far (absent in checkpoints saved before it was kept). */
  writes?: WriteTotals | undefined;
}

/** The exact object that was read, so later steps read and move that one and no other. */
interface ObjectIdentity {
  versionId: string | undefined;
  eTag: string | undefined;
  size: number;
}

export type LoadedProgress = Exclude<Progress, { stage: 'LOADING' }>;

export type Progress =
  | (ObjectIdentity & { stage: 'LOADING'; checkpoint: Checkpoint })
  | (ObjectIdentity & {
      stage: Exclude<Stage, 'LOADING'>;
      /** The outcome computed when the rows were loaded. */
      result: IngestResult;
    });

/** Progress records outlive Powertools' idempotency records, so a late redelivery is still a no-op. */
const RETENTION_SECONDS = 7 * 24 * 3600;

/**
 * Names one upload: the same object version delivered twice has the same identity; a new upload
 * of the same name (new version, or new sequencer without versioning) has another; an S3 Batch
 * Operations job gets its own, so a reprocessing job really reprocesses.
 */
export function uploadIdentity(upload: UploadRef): string {
  const version = upload.versionId ?? upload.sequencer ?? upload.eTag ?? '';
  return JSON.stringify([upload.bucket, upload.key, version, upload.jobId ?? '']);
}

/** Step progress per upload, kept in the idempotency table next to Powertools' records. */
export class ProgressLedger {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  public static idFor(upload: UploadRef): string {
    return `progress#${createHash('sha256').update(uploadIdentity(upload)).digest('hex')}`;
  }

  public async get(upload: UploadRef): Promise<Progress | null> {
    try {
      const out = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id: ProgressLedger.idFor(upload) },
          ConsistentRead: true,
        }),
      );
      return out.Item ? (out.Item.progress as Progress) : null;
    } catch (error) {
      throw this.failure('read', error);
    }
  }

  /** Records that `progress.stage` is done. Never moves an upload backwards. */
  public async save(upload: UploadRef, progress: Progress): Promise<void> {
    // Stages in order, and the parts of a long file in order within LOADING.
    const rank =
      STAGES.indexOf(progress.stage) * 1_000_000 +
      (progress.stage === 'LOADING' ? progress.checkpoint.part : 0);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            id: ProgressLedger.idFor(upload),
            rank,
            progress,
            source: `s3://${upload.bucket}/${upload.key}`,
            expiration: Math.floor(Date.now() / 1000) + RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(id) OR #rank < :rank',
          ExpressionAttributeNames: { '#rank': 'rank' },
          ExpressionAttributeValues: { ':rank': rank },
        }),
      );
    } catch (error) {
      // Already at or past this stage: another attempt got here first, which is fine.
      if ((error as Error).name === 'ConditionalCheckFailedException') return;
      throw this.failure('write', error);
    }
  }

  /** The report a long file's pieces were joined into, once the join is recorded. */
  public async joinedReport(
    upload: UploadRef,
    file: JoinedFile = 'report',
  ): Promise<StoredObject | null> {
    try {
      const out = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id: ProgressLedger.joinedIdFor(upload, file) },
          ConsistentRead: true,
        }),
      );
      return out.Item ? (out.Item.report as StoredObject) : null;
    } catch (error) {
      throw this.failure('read', error);
    }
  }

  /**
   * Records that the report pieces were joined (the JOINED marker), before they are deleted: a
   * retry then neither joins them again nor looks for pieces that are gone. The first join wins.
   */
  public async saveJoinedReport(
    upload: UploadRef,
    report: StoredObject,
    file: JoinedFile = 'report',
  ): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            id: ProgressLedger.joinedIdFor(upload, file),
            report,
            source: `s3://${upload.bucket}/${upload.key}`,
            expiration: Math.floor(Date.now() / 1000) + RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(id)',
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return;
      throw this.failure('write', error);
    }
  }

  private static joinedIdFor(upload: UploadRef, file: JoinedFile): string {
    const marker = file === 'report' ? 'joined#' : 'joined-rejected#';
    return ProgressLedger.idFor(upload).replace(/^progress#/, marker);
  }

  private failure(action: string, error: unknown): InfrastructureError {
    return new InfrastructureError(
      `Could not ${action} the ledger ${this.tableName}: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
