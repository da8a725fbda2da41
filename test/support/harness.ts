import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import {
  encodeEventKey,
  LOCAL_CREDENTIALS,
  type LocalNames,
  LocalStack,
  type LocalStackOptions,
} from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { nextSequencer } from '../../src/local/nextSequencer.ts';
import type { PublishedMessage } from '../../src/local/SnsStandIn.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';
import type { Clients } from '../../src/pipeline/ingestObject.ts';
import type { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';
import type {
  CsvDescription,
  IngestStatus,
  RowCounts,
  StoredObject,
  StudentRecord,
  WriteSummary,
} from '../../src/types.ts';

type IngestModule = typeof import('../../src/handlers/ingest.ts');
export type Handler = ReturnType<IngestModule['createHandler']>;

/** The JSON summary that SQS, Lambda and HTTP subscribers receive. */
export interface Summary {
  status: IngestStatus;
  /** The declared dataset the file was loaded as (a deployment with a datasets declaration). */
  dataset?: string;
  source: StoredObject & { sequencer?: string };
  destination: StoredObject | null;
  rows: RowCounts;
  report?: StoredObject;
  rejected?: StoredObject;
  fileError?: { code: string; message: string };
  csv?: CsvDescription;
  /** The first ten problems: line, field and reason, never the value. */
  errors: { line: number; field: string; error: string }[];
  durationMs: number;
  writes?: WriteSummary;
  // biome-ignore lint/suspicious/noExplicitAny: fields a change adds before this type names them
  [field: string]: any;
}

/** A summary as SNS published it: the message, its per-protocol parts, and the JSON part read. */
export interface SummaryMessage {
  published: PublishedMessage;
  /** `default` and `email` (the e-mail text), `sqs`, `lambda`, `http`, `https` (the JSON). */
  parts: Record<string, string>;
  json: Summary;
}

/** An object put into a bucket, with what an event about it carries. */
export interface Upload {
  key: string;
  size: number;
  eTag: string;
}

export interface StackOptions extends Omit<LocalStackOptions, 'onS3Event'> {
  /**
   * The one dataset's schema (SCHEMA_FILE): the stack makes its table from it, and the handlers
   * read it at cold start. Set in the environment while the file's tests run.
   */
  schemaFile?: string;
}

export interface HandlerOptions {
  /** Settings on top of the stack's (CONTINUATION_MARGIN_MS, ERROR_POLICY, …). */
  env?: Record<string, string>;
  /** Changes the handler's own clients before it runs (fault injection). */
  tweak?: (clients: Clients) => void;
  retryBudget?: Parameters<typeof createIngestOnce>[0]['retryBudget'];
}

export const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

export const sampleEvent = (name: 's3-put.json' | 's3-put-encoded-key.json'): S3Event =>
  JSON.parse(readFileSync(new URL(`../../events/${name}`, import.meta.url), 'utf8')) as S3Event;

interface Started {
  stack: LocalStack;
  /** The stack's settings, and SCHEMA_FILE when the harness was given one. */
  env: Record<string, string>;
  s3: S3Client;
  ddb: DynamoDBDocumentClient;
  createHandler: IngestModule['createHandler'];
  createIngestOnce: typeof createIngestOnce;
  deployed: Handler;
}

const isNotFound = (error: unknown): boolean =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;

/**
 * The local stand-ins for one test file (started before its tests, stopped after) and what the
 * integration tests do with them: upload as a user does and take the event S3 sent, or put an
 * object and make its event; run the handler as deployed or one with clients of its own; run a
 * file through its continuations as Lambda's async queue does; and read what users see
 * (summaries, e-mails, buckets, the table).
 */
export class StackHarness {
  private started: Started | null = null;
  private readonly events = new Map<string, S3Event>();
  /** Puts SCHEMA_FILE back as it was before `start` set it. */
  private restoreSchemaFile = (): void => {};

  private get running(): Started {
    if (!this.started) throw new Error('the local stack is not started (useLocalStack)');
    return this.started;
  }

  public get stack(): LocalStack {
    return this.running.stack;
  }

  public get s3(): S3Client {
    return this.running.s3;
  }

  /** A document client on the stack's DynamoDB, for reading the tables as they are. */
  public get ddb(): DynamoDBDocumentClient {
    return this.running.ddb;
  }

  public get names(): LocalNames {
    return this.stack.names;
  }

  /** The handler as deployed: clients and settings made when it was imported, from the stack's. */
  public get deployed(): Handler {
    return this.running.deployed;
  }

  public async start({ schemaFile, ...options }: StackOptions = {}): Promise<void> {
    if (schemaFile) {
      const before = process.env.SCHEMA_FILE;
      this.restoreSchemaFile = () => {
        if (before === undefined) delete process.env.SCHEMA_FILE;
        else process.env.SCHEMA_FILE = before;
      };
      process.env.SCHEMA_FILE = schemaFile;
    }
    const stack = await LocalStack.start({
      ...options,
      // s3rver's events carry raw keys (`+` for a space), as real S3's do.
      onS3Event: (event) => {
        const raw = event.Records[0]?.s3.object.key ?? '';
        this.events.set(decodeURIComponent(raw.replace(/\+/g, ' ')), event);
      },
    });
    Object.assign(process.env, stack.env);
    // Imported once the stack's settings are in the environment, as Lambda's would be (the
    // pipeline's logger, too, reads its level when it is loaded).
    const [{ createHandler, handler }, { createIngestOnce }] = await Promise.all([
      import('../../src/handlers/ingest.ts'),
      import('../../src/pipeline/ingestOnce.ts'),
    ]);
    const env = { ...stack.env, ...(schemaFile ? { SCHEMA_FILE: schemaFile } : {}) };
    this.started = {
      stack,
      env,
      s3: stack.s3Client(),
      ddb: DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: stack.endpoints.dynamodb,
          region: 'us-east-1',
          credentials: {
            accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
            secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
          },
        }),
      ),
      createHandler,
      createIngestOnce,
      deployed: handler,
    };
  }

  public async stop(): Promise<void> {
    this.started?.s3.destroy();
    this.started?.ddb.destroy();
    await this.started?.stack.stop();
    this.restoreSchemaFile();
  }

  /** The real middy handler over a pipeline with clients of its own. */
  public handler(options: HandlerOptions = {}): Handler {
    const { createHandler, createIngestOnce, env } = this.running;
    const config = loadConfig({ ...env, ...options.env });
    const clients = createClients(config);
    options.tweak?.(clients);
    return createHandler(createIngestOnce({ clients, config, retryBudget: options.retryBudget }));
  }

  /** Puts `body` under `key` in the inbound bucket and returns the event S3 sent for it. */
  public async upload(key: string, body: string | Buffer): Promise<S3Event> {
    await this.put(key, body);
    const event = this.events.get(key);
    if (!event) throw new Error(`no S3 event for ${key}`);
    return event;
  }

  /** Puts `body` under `key` (in the inbound bucket unless told) and says what S3 stored. */
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
      key: encodeEventKey(upload.key),
      size: upload.size,
      eTag: upload.eTag,
      sequencer: nextSequencer(),
    };
    return event;
  }

  /** Runs a handler (the deployed one unless told) on a copy: middy decodes keys in place. */
  public invoke(event: S3Event | ContinuationEvent, handler = this.deployed): Promise<void> {
    return handler(structuredClone(event), lambdaContext());
  }

  /** Puts `body` under `key` in the inbound bucket and runs a handler on its event. */
  public async ingest(
    key: string,
    body: Buffer | string,
    handler = this.deployed,
  ): Promise<Upload> {
    const upload = await this.put(key, body);
    await this.invoke(this.eventFor(upload), handler);
    return upload;
  }

  /** Runs an event, then every continuation it hands on; returns how many continuations ran. */
  public async drive(
    handler: Handler,
    event: S3Event | ContinuationEvent,
    context: () => Context,
  ): Promise<number> {
    const seen = this.stack.lambda.invocations.length;
    await handler(structuredClone(event), context());
    return this.runContinuations(handler, seen, context);
  }

  /** Runs every continuation handed on from invocation `since` on, as Lambda's queue does. */
  public async runContinuations(
    handler: Handler,
    since: number,
    context: () => Context,
  ): Promise<number> {
    const { invocations } = this.stack.lambda;
    let runs = 0;
    while (invocations.length > since + runs) {
      const next: unknown = JSON.parse(invocations[since + runs]?.payload ?? 'null');
      runs++;
      if (!isContinuationEvent(next)) throw new Error('unexpected invocation');
      await handler(next, context());
    }
    return runs;
  }

  /** The summaries published for `key` as SNS sent them, oldest first. */
  public messagesFor(key: string): SummaryMessage[] {
    return this.stack.summaries
      .map((published) => {
        const parts = JSON.parse(published.message) as Record<string, string>;
        return { published, parts, json: JSON.parse(parts.sqs ?? 'null') as Summary };
      })
      .filter(({ json }) => json?.source?.key === key);
  }

  /** The JSON summaries published for `key`, oldest first. */
  public summariesFor(key: string): Summary[] {
    return this.messagesFor(key).map(({ json }) => json);
  }

  /** The e-mail texts published for `key`, oldest first. */
  public emailsFor(key: string): string[] {
    return this.messagesFor(key).map(({ parts }) => parts.email ?? '');
  }

  /** Whether `bucket` holds `key`; an error other than "not found" is thrown. */
  public async exists(bucket: string, key: string): Promise<boolean> {
    return this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      (error: unknown) => {
        if (isNotFound(error)) return false;
        throw error;
      },
    );
  }

  /** Which of the three buckets hold `key`. */
  public async whereIs(key: string): Promise<string[]> {
    const { inbound, archive, error } = this.names;
    const found: string[] = [];
    for (const bucket of [inbound, archive, error])
      if (await this.exists(bucket, key)) found.push(bucket);
    return found;
  }

  public async text(bucket: string, key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString()) ?? '';
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

  /** The rows of a CSV report in the error bucket (a rejected-rows report: header row first). */
  public async reportRows(key: string): Promise<string[][]> {
    const bytes = await this.read(this.names.error, key);
    if (!bytes) throw new Error(`no report at ${key}`);
    return parse(bytes) as string[][];
  }

  /** Every item of a table (the student table unless told), read from the stand-in itself. */
  public async scan(table = this.names.table): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
      items.push(...(page.Items ?? []));
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);
    return items;
  }

  /** Every item of the student table that `keep` keeps. */
  public async items(
    keep: (item: Record<string, unknown>) => boolean,
  ): Promise<Record<string, unknown>[]> {
    return (await this.scan()).filter(keep);
  }

  /** The student table, ordered by student and course. */
  public async tableRows(): Promise<StudentRecord[]> {
    const rows = (await this.scan()) as StudentRecord[];
    return rows.sort(
      (a, b) =>
        String(a.student_id ?? '').localeCompare(String(b.student_id ?? '')) ||
        String(a.course ?? '').localeCompare(String(b.course ?? '')),
    );
  }

  /** Empties the student table (keyed by student and course). */
  public async clearTable(): Promise<void> {
    const rows = await this.tableRows();
    for (let at = 0; at < rows.length; at += 25) {
      const keys = rows
        .slice(at, at + 25)
        .map(({ student_id, course }) => ({ DeleteRequest: { Key: { student_id, course } } }));
      await this.ddb.send(new BatchWriteCommand({ RequestItems: { [this.names.table]: keys } }));
    }
  }
}

/** Starts the local stand-ins before the file's tests and stops them after. */
export function useLocalStack(options: StackOptions = {}): StackHarness {
  const harness = new StackHarness();
  beforeAll(() => harness.start(options), 120_000);
  afterAll(() => harness.stop());
  return harness;
}
