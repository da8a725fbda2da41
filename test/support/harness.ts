import {
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { LocalStack, type LocalStackOptions } from '../../src/local/LocalStack.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';
import type { Clients } from '../../src/pipeline/ingestObject.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';

export type Handler = ReturnType<typeof import('../../src/handlers/ingest.ts').createHandler>;
// biome-ignore lint/suspicious/noExplicitAny: a summary is JSON whose shape each test asserts
export type Summary = Record<string, any>;

export interface HandlerOptions {
  /** Settings on top of the stack's (CONTINUATION_MARGIN_MS, ERROR_POLICY, …). */
  env?: Record<string, string>;
  /** Changes the handler's own clients before it runs (fault injection). */
  tweak?: (clients: Clients) => void;
  retryBudget?: Parameters<typeof createIngestOnce>[0]['retryBudget'];
}

/**
 * The local stand-ins for one test file (started before its tests, stopped after) and what the
 * integration tests do with them: upload as a user does and take the event S3 sent, build the
 * real handler with clients of its own, run a file through its continuations as Lambda's async
 * queue does, and read what users see (summaries, e-mails, buckets, the table).
 */
export class StackHarness {
  private started: { stack: LocalStack; s3: S3Client } | null = null;
  private createHandler: typeof import('../../src/handlers/ingest.ts').createHandler | null = null;
  private readonly events = new Map<string, S3Event>();

  public get stack(): LocalStack {
    if (!this.started) throw new Error('the local stack is not started (useLocalStack)');
    return this.started.stack;
  }

  public get s3(): S3Client {
    if (!this.started) throw new Error('the local stack is not started (useLocalStack)');
    return this.started.s3;
  }

  public async start(options: Omit<LocalStackOptions, 'onS3Event'> = {}): Promise<void> {
    const stack = await LocalStack.start({
      ...options,
      // s3rver's events carry raw keys (`+` for a space), as real S3's do.
      onS3Event: (event) => {
        const raw = event.Records[0]?.s3.object.key ?? '';
        this.events.set(decodeURIComponent(raw.replace(/\+/g, ' ')), event);
      },
    });
    Object.assign(process.env, stack.env);
    // Imported once the stack's settings are in the environment, as Lambda's would be.
    ({ createHandler: this.createHandler } = await import('../../src/handlers/ingest.ts'));
    this.started = { stack, s3: stack.s3Client() };
  }

  public async stop(): Promise<void> {
    this.started?.s3.destroy();
    await this.started?.stack.stop();
  }

  /** The real middy handler over a pipeline with clients of its own. */
  public handler(options: HandlerOptions = {}): Handler {
    if (!this.createHandler) throw new Error('the local stack is not started (useLocalStack)');
    const config = loadConfig({ ...this.stack.env, ...options.env });
    const clients = createClients(config);
    options.tweak?.(clients);
    return this.createHandler(
      createIngestOnce({ clients, config, retryBudget: options.retryBudget }),
    );
  }

  /** Puts `body` under `key` in the inbound bucket and returns the event S3 sent for it. */
  public async upload(key: string, body: string | Buffer): Promise<S3Event> {
    const { stack, s3 } = this;
    await s3.send(new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }));
    const event = this.events.get(key);
    if (!event) throw new Error(`no S3 event for ${key}`);
    return event;
  }

  /** Runs an event, then every continuation it hands on; returns how many continuations ran. */
  public async drive(
    handler: Handler,
    event: S3Event | ContinuationEvent,
    context: () => Context,
  ): Promise<number> {
    const { lambda } = this.stack;
    const seen = lambda.invocations.length;
    await handler(structuredClone(event), context());
    let runs = 0;
    while (lambda.invocations.length > seen + runs) {
      const next: unknown = JSON.parse(lambda.invocations[seen + runs]?.payload ?? 'null');
      runs++;
      if (!isContinuationEvent(next)) throw new Error('unexpected invocation');
      await handler(next, context());
    }
    return runs;
  }

  /** The JSON summaries published for `key`, oldest first. */
  public summariesFor(key: string): Summary[] {
    return this.published(key).map(({ summary }) => summary);
  }

  /** The e-mail texts published for `key`, oldest first. */
  public emailsFor(key: string): string[] {
    return this.published(key).map(({ email }) => email);
  }

  public async exists(bucket: string, key: string): Promise<boolean> {
    return this.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => true,
      () => false,
    );
  }

  public async text(bucket: string, key: string): Promise<string> {
    const out = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (await out.Body?.transformToString()) ?? '';
  }

  /** Every item of the student table (or `table`) that `keep` keeps, read from the stand-in itself. */
  public async items(
    keep: (item: Record<string, unknown>) => boolean,
    table = this.stack.names.table,
  ): Promise<Record<string, unknown>[]> {
    const { ddb } = createClients(loadConfig(this.stack.env));
    const items: Record<string, unknown>[] = [];
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    try {
      do {
        const page = await ddb.send(new ScanCommand({ TableName: table, ExclusiveStartKey }));
        items.push(...(page.Items ?? []).filter(keep));
        ExclusiveStartKey = page.LastEvaluatedKey;
      } while (ExclusiveStartKey);
    } finally {
      ddb.destroy();
    }
    return items;
  }

  private published(key: string): { summary: Summary; email: string }[] {
    return this.stack.summaries
      .map((m) => {
        const message = JSON.parse(m.message) as { sqs: string; email: string };
        return { summary: JSON.parse(message.sqs) as Summary, email: message.email };
      })
      .filter(({ summary }) => summary.source?.key === key);
  }
}

/** Starts the local stand-ins before the file's tests and stops them after. */
export function useLocalStack(options: Omit<LocalStackOptions, 'onS3Event'> = {}): StackHarness {
  const harness = new StackHarness();
  beforeAll(() => harness.start(options), 120_000);
  afterAll(() => harness.stop());
  return harness;
}
