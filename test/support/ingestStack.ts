import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { LOCAL_CREDENTIALS, LocalStack } from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { nextSequencer } from '../../src/local/nextSequencer.ts';
import type { PublishedMessage } from '../../src/local/SnsStandIn.ts';
import type { StudentRecord } from '../../src/types.ts';

/** The JSON part that SQS, Lambda and HTTP subscribers receive. */
export interface SummaryJson {
  status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED' | 'SUPERSEDED';
  source: { bucket: string; key: string; versionId?: string; sequencer?: string };
  destination: { bucket: string; key: string; versionId?: string } | null;
  rows: { total: number; written: number; rejected: number; duplicates: number };
  report?: { bucket: string; key: string; versionId?: string };
  fileError?: { code: string; message: string };
  errors: { line: number; field: string; error: string }[];
  durationMs: number;
}

export interface Summary {
  published: PublishedMessage;
  parts: Record<string, string>;
  json: SummaryJson;
}

export interface Upload {
  key: string;
  size: number;
  eTag: string;
}

const credentials = {
  accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
  secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
};

export const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

export const sampleEvent = (name: 's3-put.json' | 's3-put-encoded-key.json'): S3Event =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as S3Event;

/** The key as S3 writes it into an event: URL-encoded, spaces as `+` (what the stack does too). */
export const encodeKey = (key: string): string =>
  encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');

type Handler = (event: S3Event, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

/**
 * One LocalStack with the real, middy-wrapped handler imported against it (process.env is set
 * first: the handler reads its configuration at import), and the helpers the suites share.
 */
export class IngestStack {
  private constructor(
    public readonly stack: LocalStack,
    public readonly handler: Handler,
    public readonly s3: S3Client,
    public readonly ddb: DynamoDBDocumentClient,
  ) {}

  public static async start(): Promise<IngestStack> {
    const stack = await LocalStack.start();
    Object.assign(process.env, stack.env);
    const { handler } = (await import('../../src/handlers/ingest.ts')) as { handler: Handler };
    const s3 = stack.s3Client();
    const ddb = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: stack.endpoints.dynamodb, region: 'us-east-1', credentials }),
    );
    return new IngestStack(stack, handler, s3, ddb);
  }

  public async stop(): Promise<void> {
    this.s3.destroy();
    this.ddb.destroy();
    await this.stack.stop();
  }

  public get names() {
    return this.stack.names;
  }

  public async put(
    key: string,
    body: Buffer | string,
    bucket = this.names.inbound,
  ): Promise<Upload> {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const out = await this.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes }));
    return { key, size: bytes.length, eTag: (out.ETag ?? '').replace(/"/g, '') };
  }

  /** A real-shaped ObjectCreated:Put event, made from events/s3-put.json, for an upload. */
  public eventFor(upload: Upload, bucket = this.names.inbound): S3Event {
    const event = sampleEvent('s3-put.json');
    const record = event.Records[0];
    if (!record) throw new Error('events/s3-put.json has no record');
    record.s3.bucket = { ...record.s3.bucket, name: bucket, arn: `arn:aws:s3:::${bucket}` };
    record.s3.object = {
      key: encodeKey(upload.key),
      size: upload.size,
      eTag: upload.eTag,
      sequencer: nextSequencer(),
    };
    return event;
  }

  /** Runs the handler on a copy (middy's event-normalizer decodes keys in place). */
  public invoke(event: S3Event): Promise<unknown> {
    return this.handler(structuredClone(event), lambdaContext());
  }

  /** Uploads a fixture (or bytes) under `key` and runs the handler on its event. */
  public async ingest(key: string, body: Buffer | string): Promise<Upload> {
    const upload = await this.put(key, body);
    await this.invoke(this.eventFor(upload));
    return upload;
  }

  public async tableRows(): Promise<StudentRecord[]> {
    const items: StudentRecord[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(
        new ScanCommand({ TableName: this.names.table, ExclusiveStartKey }),
      );
      items.push(...((page.Items ?? []) as StudentRecord[]));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items.sort(
      (a, b) =>
        String(a.student_id ?? '').localeCompare(String(b.student_id ?? '')) ||
        String(a.course ?? '').localeCompare(String(b.course ?? '')),
    );
  }

  public async clearTable(): Promise<void> {
    const rows = await this.tableRows();
    for (let at = 0; at < rows.length; at += 25) {
      const keys = rows
        .slice(at, at + 25)
        .map(({ student_id, course }) => ({ DeleteRequest: { Key: { student_id, course } } }));
      await this.ddb.send(new BatchWriteCommand({ RequestItems: { [this.names.table]: keys } }));
    }
  }

  /** The object's bytes, or null when it is not there. */
  public async read(bucket: string, key: string): Promise<Buffer | null> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from((await out.Body?.transformToByteArray()) ?? []);
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  /** Which of the three buckets hold `key`. */
  public async whereIs(key: string): Promise<string[]> {
    const found: string[] = [];
    for (const bucket of [this.names.inbound, this.names.archive, this.names.error]) {
      try {
        await this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
        found.push(bucket);
      } catch (error) {
        if (
          (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404
        )
          throw error;
      }
    }
    return found;
  }

  public summaries(): Summary[] {
    return this.stack.summaries.map((published) => {
      const parts = JSON.parse(published.message) as Record<string, string>;
      return { published, parts, json: JSON.parse(parts.sqs ?? 'null') as SummaryJson };
    });
  }

  public summariesFor(key: string): Summary[] {
    return this.summaries().filter((summary) => summary.json.source.key === key);
  }
}
