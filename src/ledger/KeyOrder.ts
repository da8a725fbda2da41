import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { UploadRef } from '../types.ts';
import { comparableSequencer } from './comparableSequencer.ts';

/** Kept as long as progress records: a late event of an old upload is still recognised as old. */
const RETENTION_SECONDS = 7 * 24 * 3600;
/** How often a loading upload looks whether a newer one of its name has started. */
const DEFAULT_POLL_MS = 1_000;

/**
 * The newest upload started per object name (bucket + key), in S3's sequencer order, kept in the
 * ledger table. S3 delivers events at least once and in no particular order: an older upload's
 * event may arrive after a newer one's, and must then not overwrite the newer rows or become the
 * archive's current copy. S3 Batch Operations tasks carry no sequencer and are exempt: a
 * reprocessing job is a deliberate reload.
 */
export class KeyOrder {
  public constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly pollMs = DEFAULT_POLL_MS,
  ) {}

  public static idFor(upload: Pick<UploadRef, 'bucket' | 'key'>): string {
    const name = JSON.stringify([upload.bucket, upload.key]);
    return `order#${createHash('sha256').update(name).digest('hex')}`;
  }

  /**
   * Records this upload as the newest of its name unless a newer one already is. True: go on
   * (also for a retry or redelivery of the newest, and for uploads that cannot be ordered);
   * false: a newer upload of the same name has started, this one is superseded.
   */
  public async claim(upload: UploadRef): Promise<boolean> {
    const sequencer = orderOf(upload);
    if (!sequencer) return true;
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            id: KeyOrder.idFor(upload),
            sequencer,
            ...(upload.versionId ? { versionId: upload.versionId } : {}),
            expiration: Math.floor(Date.now() / 1000) + RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(id) OR #sequencer <= :sequencer',
          ExpressionAttributeNames: { '#sequencer': 'sequencer' },
          ExpressionAttributeValues: { ':sequencer': sequencer },
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw this.failure('write', error);
    }
  }

  /** True once an upload newer than this one has been recorded for the same name. */
  public async isSuperseded(upload: UploadRef): Promise<boolean> {
    const sequencer = orderOf(upload);
    if (!sequencer) return false;
    try {
      const out = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { id: KeyOrder.idFor(upload) },
          ConsistentRead: true,
        }),
      );
      const newest = out.Item?.sequencer;
      return typeof newest === 'string' && newest > sequencer;
    } catch (error) {
      throw this.failure('read', error);
    }
  }

  /**
   * A synchronous question for the row loop, asked at batch boundaries: has a newer upload of
   * this name started? It looks in the ledger at most every `pollMs`, in the background, so the
   * answer lags by up to one poll; a failed look is retried at the next one.
   */
  public watch(upload: UploadRef): () => boolean {
    if (!orderOf(upload)) return () => false;
    let superseded = false;
    let lastLook = Date.now();
    let looking = false;
    return () => {
      const now = Date.now();
      if (!superseded && !looking && now - lastLook >= this.pollMs) {
        looking = true;
        lastLook = now;
        this.isSuperseded(upload).then(
          (newer) => {
            superseded ||= newer;
            looking = false;
          },
          () => {
            looking = false;
          },
        );
      }
      return superseded;
    };
  }

  private failure(action: string, error: unknown): InfrastructureError {
    return new InfrastructureError(
      `Could not ${action} the upload order in ${this.tableName}: ${(error as Error).message}`,
      { cause: error, transient: isTransient(error) },
    );
  }
}

/** The sequencer to order by, or null when the upload is exempt or carries none. */
function orderOf(upload: UploadRef): string | null {
  return upload.jobId ? null : comparableSequencer(upload.sequencer);
}
