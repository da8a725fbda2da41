import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { stringify } from 'csv-stringify';
import { InfrastructureError } from '../errors.ts';
import type { ObjectLocation } from '../types.ts';

export interface CsvUploadOptions {
  /** The header row (omitted for the later pieces of a file that several invocations write). */
  header: readonly string[] | null;
  /** Starts the object with a UTF-8 byte order mark (Excel then reads UTF-8 in any locale). */
  bom?: boolean;
  /** Cells matching this are quoted even when csv-stringify would not need to. */
  quoted?: RegExp;
  /** What the file is, for an error message ("the report"). */
  what: string;
}

/**
 * A CSV object streamed to S3 as it grows: rows are written one by one into a multipart upload,
 * so memory stays flat however many rows there are. Nothing is uploaded until the first row.
 * Shared by the rejected-rows report and the rejected-rows file.
 */
export class CsvUpload {
  /** The object's version, once closed, when the bucket is versioned. */
  public versionId: string | undefined;
  private csv: ReturnType<typeof stringify> | null = null;
  private upload: Promise<{ VersionId?: string | undefined }> | null = null;

  public constructor(
    private readonly s3: S3Client,
    public readonly location: ObjectLocation,
    private readonly options: CsvUploadOptions,
  ) {}

  public get started(): boolean {
    return this.csv !== null;
  }

  /** Appends one row; returns a promise only when the caller should wait for the upload. */
  public write(
    cells: readonly (string | number)[],
    metadata: Record<string, string> | undefined,
  ): void | Promise<void> {
    const csv = this.csv ?? this.open(metadata);
    const ok = csv.write(cells);
    // Wait for the upload to drain the stream, but never hang on an upload that has failed.
    if (!ok) return Promise.race([once(csv, 'drain'), this.upload]).then(() => undefined);
  }

  /** Finishes the upload; returns where the object is, or null when nothing was written. */
  public async close(): Promise<ObjectLocation | null> {
    if (!this.csv || !this.upload) return null;
    this.csv.end();
    try {
      const { VersionId: versionId } = await this.upload;
      // "null": written while the bucket was not versioned, so not a version of its own.
      this.versionId = versionId === 'null' ? undefined : versionId;
    } catch (error) {
      throw new InfrastructureError(
        `Writing ${this.options.what} s3://${this.location.bucket}/${this.location.key} failed: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return this.location;
  }

  private open(metadata: Record<string, string> | undefined): ReturnType<typeof stringify> {
    const { header, bom, quoted } = this.options;
    const csv = stringify({
      bom: bom === true && header !== null,
      record_delimiter: 'unix',
      ...(quoted ? { quoted_match: quoted } : {}),
    });
    const body = new PassThrough();
    csv.pipe(body);
    const upload = new Upload({
      client: this.s3,
      params: {
        Bucket: this.location.bucket,
        Key: this.location.key,
        Body: body,
        ContentType: 'text/csv; charset=utf-8',
        Metadata: metadata,
      },
    });
    this.upload = upload.done();
    // Surface upload failures at close(), not as an unhandled rejection mid-file.
    this.upload.catch(() => undefined);
    this.csv = csv;
    if (header) csv.write([...header]);
    return csv;
  }
}
