import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Event } from 'aws-lambda';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { DATASETS_FILE, loadDatasets, readDeclaration } from '../datasets.ts';
import { type Dataset, loadDataset } from '../validation/schema.ts';
import { close, listen } from './httpServer.ts';
import { type InvokeListener, LambdaStandIn, type RecursiveLoop } from './LambdaStandIn.ts';
import { nextSequencer } from './nextSequencer.ts';
import { type PublishedMessage, SnsStandIn } from './SnsStandIn.ts';

export interface LocalStackOptions {
  /** Fixed ports for `npm start`; 0 (the default) picks free ones, as tests want. */
  ports?: { s3?: number; dynamodb?: number; sns?: number; lambda?: number };
  host?: string;
  /** Names of the buckets, tables and topic. */
  names?: Partial<LocalNames>;
  /** Receives a real-shaped S3 event for every .csv PUT into the inbound bucket. */
  onS3Event?: (event: S3Event) => void;
  onPublish?: (message: PublishedMessage) => void;
  /** Receives every Lambda Invoke (a long file's continuation); Event invocations run after the 202. */
  onInvoke?: InvokeListener;
  /** The function's recursive loop setting; Lambda's default, Terminate, unless told. */
  recursiveLoop?: RecursiveLoop;
  /**
   * A declaration of datasets (`schemas/datasets.json`): a table per dataset, named after it, and
   * DATASET_TABLES in `env`. Without one, one table (`names.table`) for SCHEMA_FILE, as before.
   */
  datasetsFile?: string;
}

export interface LocalNames {
  inbound: string;
  archive: string;
  error: string;
  table: string;
  ledger: string;
  topic: string;
  /** The ingest function's name, which continuations invoke. */
  functionName: string;
}

const DEFAULT_NAMES: LocalNames = {
  inbound: 'inbound',
  archive: 'archive',
  error: 'errors',
  table: 'students',
  ledger: 'ingest-ledger',
  topic: 'ingest-summaries',
  functionName: 's3-csv-ingest-local-ingest',
};

/** A declaration's tables as a local stack names them: each after its dataset (DATASET_TABLES). */
export function localTables(file: string): Record<string, string> {
  return Object.fromEntries(readDeclaration(file).map((d) => [d.name, d.name]));
}

/**
 * A record table as the stack creates it: its key comes from the schema's `x-table-key`, and
 * each key attribute's type from its column's (integer and number columns are N, strings S).
 * Without a dataset, the one SCHEMA_FILE names (the student schema by default).
 */
export function studentTable(
  name: string,
  dataset: Dataset = loadDataset(process.env.SCHEMA_FILE?.trim() || undefined),
): CreateTableCommandInput {
  const { partition, sort } = dataset.tableKey;
  const keys = [
    { name: partition, KeyType: 'HASH' as const },
    ...(sort ? [{ name: sort, KeyType: 'RANGE' as const }] : []),
  ];
  const typeOf = (name: string) =>
    dataset.columns.find((c) => c.name === name)?.type === 'string'
      ? ('S' as const)
      : ('N' as const);
  return {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema: keys.map(({ name, KeyType }) => ({ AttributeName: name, KeyType })),
    AttributeDefinitions: keys.map(({ name }) => ({
      AttributeName: name,
      AttributeType: typeOf(name),
    })),
  };
}

/** s3rver and dynalite accept any signature made with this key pair. Not a secret. */
export const LOCAL_CREDENTIALS = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

/**
 * S3 URL-encodes keys in event notifications like a form: spaces become `+`, everything but
 * letters, digits, `/` and `-_.~*'()!` is percent-encoded. s3rver sends raw keys, so we encode.
 */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+').replace(/%2F/g, '/');
}

interface KoaContext {
  headers: Record<string, string | string[] | undefined>;
}

/**
 * s3rver decodes x-amz-copy-source with decodeURI, which leaves `%3D`, `%2B`, `%26`… encoded and so
 * breaks keys with `=`, `+` or `&`. Re-encode the header so decodeURI yields the real key.
 */
async function fixCopySource(ctx: KoaContext, next: () => Promise<void>): Promise<void> {
  const header = ctx.headers['x-amz-copy-source'];
  if (typeof header === 'string') {
    const [path = '', query] = header.split('?');
    ctx.headers['x-amz-copy-source'] =
      encodeURI(decodeURIComponent(path)) + (query ? `?${query}` : '');
  }
  await next();
}

/**
 * The embedded local stack behind `npm start` and the integration tests: dynalite (DynamoDB),
 * s3rver (S3) and a local SNS endpoint, with the buckets, tables and topic created, and every
 * `.csv` PUT into the inbound bucket turned into a real-shaped S3 event.
 */
export class LocalStack {
  public readonly names: LocalNames;
  public readonly sns: SnsStandIn;
  public readonly lambda: LambdaStandIn;
  public endpoints = { s3: '', dynamodb: '', sns: '', lambda: '' };
  public topicArn = '';
  private s3rver: S3rver | null = null;
  private dynalite: Server | null = null;
  private directory = '';

  private constructor(private readonly options: LocalStackOptions) {
    this.names = { ...DEFAULT_NAMES, ...options.names };
    this.sns = new SnsStandIn('us-east-1', '000000000000', options.onPublish);
    this.lambda = new LambdaStandIn(options.onInvoke, options.recursiveLoop);
  }

  public static async start(options: LocalStackOptions = {}): Promise<LocalStack> {
    const stack = new LocalStack(options);
    try {
      await stack.boot();
    } catch (error) {
      await stack.stop();
      throw error;
    }
    return stack;
  }

  /** The environment the handler needs to run against this stack. */
  public get env(): Record<string, string> {
    return {
      ...LOCAL_CREDENTIALS,
      AWS_REGION: 'us-east-1',
      AWS_ENDPOINT_URL_S3: this.endpoints.s3,
      AWS_ENDPOINT_URL_DYNAMODB: this.endpoints.dynamodb,
      AWS_ENDPOINT_URL_SNS: this.endpoints.sns,
      AWS_ENDPOINT_URL_LAMBDA: this.endpoints.lambda,
      AWS_LAMBDA_FUNCTION_NAME: this.names.functionName,
      AWS_REQUEST_CHECKSUM_CALCULATION: 'WHEN_REQUIRED',
      AWS_RESPONSE_CHECKSUM_VALIDATION: 'WHEN_REQUIRED',
      S3_FORCE_PATH_STYLE: 'true',
      ...this.datasetEnv(),
      IDEMPOTENCY_TABLE: this.names.ledger,
      INBOUND_BUCKET: this.names.inbound,
      ARCHIVE_BUCKET: this.names.archive,
      ERROR_BUCKET: this.names.error,
      TOPIC_ARN: this.topicArn,
    };
  }

  /** The declared datasets' tables (each named after its dataset), or the one table. */
  public get tables(): Record<string, string> {
    const file = this.options.datasetsFile;
    return file ? localTables(file) : {};
  }

  /** Each declared dataset's prefix of the inbound bucket (the default's keys may have any). */
  public get datasetPrefixes(): Record<string, string> {
    const file = this.options.datasetsFile;
    if (!file) return {};
    return Object.fromEntries(
      readDeclaration(file).map((d) => [
        d.name,
        d.default ? `${d.prefix} or any other key` : d.prefix,
      ]),
    );
  }

  /** A stack without a declaration serves the schema SCHEMA_FILE names, as the function does. */
  private schemaFile(): string | undefined {
    return this.options.datasetsFile ? undefined : process.env.SCHEMA_FILE;
  }

  private datasetEnv(): Record<string, string> {
    const file = this.options.datasetsFile;
    if (!file) return { TABLE_NAME: this.names.table };
    return {
      DATASET_TABLES: JSON.stringify(this.tables),
      ...(file === DATASETS_FILE ? {} : { DATASETS_FILE: file }),
    };
  }

  /** An S3 client for this stack's s3rver, as a person with the AWS CLI would use it. */
  public s3Client(): S3Client {
    return new S3Client({
      endpoint: this.endpoints.s3,
      forcePathStyle: true,
      region: 'us-east-1',
      credentials: {
        accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
  }

  public get summaries(): PublishedMessage[] {
    return this.sns.messages;
  }

  public async stop(): Promise<void> {
    await this.sns.close();
    await this.lambda.close();
    const s3 = this.s3rver as (S3rver & { httpServer?: Server }) | null;
    this.s3rver = null;
    if (s3?.httpServer) {
      s3.httpServer.closeAllConnections();
      await s3.close();
    }
    const dynamo = this.dynalite;
    this.dynalite = null;
    await close(dynamo);
    if (this.directory) await rm(this.directory, { recursive: true, force: true });
  }

  private async boot(): Promise<void> {
    const host = this.options.host ?? '127.0.0.1';
    const ports = this.options.ports ?? {};

    this.directory = await mkdtemp(join(tmpdir(), 's3-csv-ingest-'));
    const s3 = new S3rver({
      address: host,
      port: ports.s3 ?? 0,
      silent: true,
      directory: this.directory,
      configureBuckets: [this.names.inbound, this.names.archive, this.names.error].map((name) => ({
        name,
        configs: [],
      })),
    });
    (s3 as unknown as { middleware: unknown[] }).middleware.unshift(fixCopySource);
    s3.on('event', (event: S3Event) => this.forward(event));
    this.s3rver = s3;
    const s3Address = (await s3.run()) as AddressInfo;
    this.endpoints.s3 = `http://${host}:${s3Address.port}`;

    const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
    this.dynalite = dynamo;
    this.endpoints.dynamodb = await listen(dynamo, ports.dynamodb ?? 0, host);

    this.endpoints.sns = await this.sns.listen(ports.sns ?? 0, host);
    this.topicArn = this.sns.createTopic(this.names.topic);
    this.endpoints.lambda = await this.lambda.listen(ports.lambda ?? 0, host);
    await this.createTables();
  }

  private async createTables(): Promise<void> {
    const client = new DynamoDBClient({
      endpoint: this.endpoints.dynamodb,
      region: 'us-east-1',
      credentials: {
        accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
        secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
      },
    });
    try {
      // The tables exactly as the function will see them: its own reading of the settings.
      const { list } = loadDatasets({ ...this.datasetEnv(), SCHEMA_FILE: this.schemaFile() });
      for (const { table, dataset } of list) {
        await client.send(new CreateTableCommand(studentTable(table, dataset)));
      }
      await client.send(
        new CreateTableCommand({
          TableName: this.names.ledger,
          BillingMode: 'PAY_PER_REQUEST',
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        }),
      );
      await client
        .send(
          new UpdateTimeToLiveCommand({
            TableName: this.names.ledger,
            TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
          }),
        )
        .catch(() => undefined); // dynalite may not implement TTL; the attribute still works.
    } finally {
      client.destroy();
    }
  }

  /**
   * Mirrors the inbound bucket's notification: every ObjectCreated, no suffix filter (S3's are
   * case-sensitive; the handler picks the CSV files in any casing), keys encoded like S3.
   */
  private forward(event: S3Event): void {
    for (const record of event.Records) {
      const { bucket, object } = record.s3;
      if (bucket.name !== this.names.inbound || !record.eventName.startsWith('ObjectCreated'))
        continue;
      const shaped: S3Event = {
        Records: [
          {
            ...record,
            awsRegion: 'us-east-1',
            s3: {
              ...record.s3,
              bucket: { ...bucket, arn: `arn:aws:s3:::${bucket.name}` },
              object: {
                ...object,
                key: encodeEventKey(object.key),
                sequencer: object.sequencer ?? nextSequencer(),
              },
            },
          },
        ],
      };
      this.options.onS3Event?.(shaped);
    }
  }
}
