import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { S3Event } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_CREDENTIALS, LocalStack } from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { nextSequencer } from '../../src/local/nextSequencer.ts';
import { continuationsSince, rowBudget, taggedCsv } from '../support/longFiles.ts';
import { findOnPath, MOTO_INSTALL_HINT, type Moto, startMoto } from '../support/startMoto.ts';

/*
 * The second integration suite: real S3 → SQS notifications from moto_server (Python moto), which
 * encodes keys in events the way S3 does, fed to the real middy handler. DynamoDB stays on
 * dynalite, which enforces BatchWriteItem's rules (moto does not).
 */

const motoMissing = findOnPath('moto_server') === null;
const inCi = process.env.CI === 'true';
if (motoMissing && !inCi) {
  console.warn(
    `Skipping test/integration/moto.test.ts: moto_server is not on PATH (${MOTO_INSTALL_HINT}). In CI (CI=true) this is a failure.`,
  );
}

const NAMES = {
  inbound: 'moto-inbound',
  archive: 'moto-archive',
  error: 'moto-errors',
  eventQueue: 'inbound-events',
  topic: 'ingest-summaries',
  summaryQueue: 'summaries',
};
const HEADER = 'student_id,first_name,last_name,course';
const credentials = {
  accessKeyId: LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID,
  secretAccessKey: LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY,
};

interface Fixture {
  key: string;
  body: string;
  status: 'SUCCEEDED' | 'PARTIAL' | 'FAILED';
  rows: { total: number; written: number; rejected: number; duplicates: number };
  /** The rows the table must hold afterwards, in schema column order. */
  loaded: string[][];
}

// Keys that S3 must encode in its events: spaces, `+`, `=`, `&`, `%`, non-ASCII, folders.
const FIXTURES: Fixture[] = [
  {
    key: 'term 1/clean roster.csv',
    body: `${HEADER}\nM10001,Jack,Reacher,Advanced Physical Security\nM10002,Ada,Lovelace,"Analysis, Engines"\n`,
    status: 'SUCCEEDED',
    rows: { total: 2, written: 2, rejected: 0, duplicates: 0 },
    loaded: [
      ['M10001', 'Jack', 'Reacher', 'Advanced Physical Security'],
      ['M10002', 'Ada', 'Lovelace', 'Analysis, Engines'],
    ],
  },
  {
    key: 'a+b=c&d/100% done.csv',
    body: 'M20001,Grace,Hopper,Compilers\r\nM20002,Alan,Turing,Computability\r\n',
    status: 'SUCCEEDED',
    rows: { total: 2, written: 2, rejected: 0, duplicates: 0 },
    loaded: [
      ['M20001', 'Grace', 'Hopper', 'Compilers'],
      ['M20002', 'Alan', 'Turing', 'Computability'],
    ],
  },
  {
    key: 'élèves/Zürich ü 中文.csv',
    body: `\uFEFF${HEADER}\nM30001,Zoë,Müller,Géographie\nM30002,李,王,中文\n`,
    status: 'SUCCEEDED',
    rows: { total: 2, written: 2, rejected: 0, duplicates: 0 },
    loaded: [
      ['M30001', 'Zoë', 'Müller', 'Géographie'],
      ['M30002', '李', '王', '中文'],
    ],
  },
  {
    key: 'partial/mixed rows & more.csv',
    body: `${HEADER}\nM40001,Valid,Row,Chemistry\nbad-id,Broken,Row,Chemistry\n`,
    status: 'PARTIAL',
    rows: { total: 2, written: 1, rejected: 1, duplicates: 0 },
    loaded: [['M40001', 'Valid', 'Row', 'Chemistry']],
  },
  {
    key: 'bad/wrong=header.csv',
    body: 'sid,first,last,class\nM50001,Never,Loaded,Nothing\n',
    status: 'FAILED',
    rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
    loaded: [],
  },
  {
    key: 'term 2/ROSTER.Csv',
    body: `${HEADER}\nM60001,Edsger,Dijkstra,Algorithms\n`,
    status: 'SUCCEEDED',
    rows: { total: 1, written: 1, rejected: 0, duplicates: 0 },
    loaded: [['M60001', 'Edsger', 'Dijkstra', 'Algorithms']],
  },
];
const TEXT_FILE = { key: 'notes/read me.txt', body: 'not a csv\n' };

interface Summary {
  subject: string;
  body: Record<string, unknown> & {
    status: string;
    source: { bucket: string; key: string; versionId?: string; sequencer?: string };
    destination: { bucket: string; key: string; versionId?: string } | null;
    rows: Fixture['rows'];
    report?: { bucket: string; key: string; versionId?: string };
    errors: { line: number; field: string; error: string }[];
    durationMs: number;
  };
}

const SUMMARY_KEYS = [
  'status',
  'rejected',
  'source',
  'destination',
  'rows',
  'report',
  'fileError',
  'errors',
  'durationMs',
  'csv',
  'writes',
];

let moto: Moto | undefined;
let stack: LocalStack | undefined;
let s3: S3Client;
let sqs: SQSClient;
let sns: SNSClient;
let ddb: DynamoDBDocumentClient;
let eventQueueUrl = '';
let summaryQueueUrl = '';
let handler: typeof import('../../src/handlers/ingest.ts').handler;
const savedEnv = { ...process.env };

async function queueArn(queueUrl: string): Promise<string> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`No QueueArn for ${queueUrl}`);
  return arn;
}

/** Receives (and deletes) everything in a queue; moto delivers synchronously, so empty is empty. */
async function drain(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
      }),
    );
    const batch = out.Messages ?? [];
    if (batch.length === 0) return all;
    all.push(...batch);
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
}

/** The S3 events in the notification queue, without the s3:TestEvent S3 sends on configuration. */
async function receiveS3Events(): Promise<S3Event[]> {
  const events: S3Event[] = [];
  for (const message of await drain(eventQueueUrl)) {
    const body = JSON.parse(message.Body ?? '{}') as Partial<S3Event> & { Event?: string };
    if (body.Event === 's3:TestEvent') continue;
    if (!body.Records) throw new Error(`Unexpected message in the event queue: ${message.Body}`);
    events.push(body as S3Event);
  }
  return events;
}

/** The summaries delivered by SNS to the subscribed queue: the `sqs` part of each message. */
async function receiveSummaries(): Promise<Summary[]> {
  return (await drain(summaryQueueUrl)).map((message) => {
    const envelope = JSON.parse(message.Body ?? '{}') as { Subject?: string; Message?: string };
    return { subject: envelope.Subject ?? '', body: JSON.parse(envelope.Message ?? 'null') };
  });
}

/** The key as S3 delivered it, decoded as the handler must: `+` is a space, then percent-decoding. */
function eventKey(event: S3Event): { raw: string; decoded: string } {
  const raw = event.Records[0]?.s3.object.key ?? '';
  return { raw, decoded: decodeURIComponent(raw.replace(/\+/g, ' ')) };
}

async function readObject(bucket: string, key: string, versionId?: string): Promise<string> {
  const out = await s3.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }),
  );
  return (await out.Body?.transformToString('utf-8')) ?? '';
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch (error) {
    if ((error as Error).name === 'NotFound') return false;
    throw error;
  }
}

async function tableRows(prefix: string): Promise<string[][]> {
  const out = await ddb.send(new ScanCommand({ TableName: stack?.names.table }));
  return (out.Items ?? [])
    .filter((item) => String(item.student_id).startsWith(prefix))
    .map((item) => [item.student_id, item.first_name, item.last_name, item.course].map(String))
    .sort((a, b) => (a[0] ?? '').localeCompare(b[0] ?? ''));
}

async function put(
  key: string,
  body: string,
): Promise<{ eTag: string; versionId?: string; sequencer: string }> {
  const out = await s3.send(
    new PutObjectCommand({ Bucket: NAMES.inbound, Key: key, Body: body, ContentType: 'text/csv' }),
  );
  // S3 orders the events of one key by a sequencer it assigns to each request; moto sends none.
  return {
    eTag: (out.ETag ?? '').replace(/"/g, ''),
    versionId: out.VersionId,
    sequencer: nextSequencer(),
  };
}

/**
 * The notifications for `uploads` (in the order of `uploads`), completed as real S3 sends them
 * on a versioned bucket: moto leaves out the versionId and the sequencer, which are filled in
 * from the PutObject that produced each event (matched by ETag).
 */
async function eventsAsS3SendsThem(
  uploads: { eTag: string; versionId?: string; sequencer: string }[],
): Promise<S3Event[]> {
  const events = await receiveS3Events();
  expect(events).toHaveLength(uploads.length);
  return uploads.map((upload) => {
    const event = events.find((e) => e.Records[0]?.s3.object.eTag === upload.eTag);
    const object = event?.Records[0]?.s3.object;
    if (!event || !object || !upload.versionId) throw new Error('No event for an upload');
    object.versionId = upload.versionId;
    object.sequencer = upload.sequencer;
    return event;
  });
}

/** Every version of `key` in `bucket`, newest first, with the body and metadata of each. */
async function versionsOf(
  bucket: string,
  key: string,
): Promise<
  { versionId: string; isLatest: boolean; body: string; metadata: Record<string, string> }[]
> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
  const versions = (out.Versions ?? []).filter((v) => v.Key === key);
  return Promise.all(
    versions.map(async (v) => {
      const got: GetObjectCommandOutput = await s3.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: v.VersionId }),
      );
      return {
        versionId: v.VersionId ?? '',
        isLatest: v.IsLatest === true,
        body: (await got.Body?.transformToString('utf-8')) ?? '',
        metadata: got.Metadata ?? {},
      };
    }),
  );
}

describe.skipIf(motoMissing && !inCi)(
  'Function: handler (real S3 notifications from moto_server)',
  () => {
    beforeAll(async () => {
      // In CI a missing moto_server fails here, with the install hint, instead of skipping.
      // Both start at once; whichever did start is stopped in afterAll even if the other failed.
      const [motoStarted, stackStarted] = await Promise.allSettled([
        startMoto(),
        LocalStack.start(),
      ]);
      if (motoStarted.status === 'fulfilled') moto = motoStarted.value;
      if (stackStarted.status === 'fulfilled') stack = stackStarted.value;
      if (motoStarted.status === 'rejected') throw motoStarted.reason;
      if (stackStarted.status === 'rejected') throw stackStarted.reason;
      const { endpoint } = motoStarted.value;
      const local = stackStarted.value;
      const base = { endpoint, region: 'us-east-1', credentials };
      s3 = new S3Client({ ...base, forcePathStyle: true });
      sqs = new SQSClient(base);
      sns = new SNSClient(base);
      ddb = DynamoDBDocumentClient.from(
        new DynamoDBClient({ ...base, endpoint: local.endpoints.dynamodb }),
      );

      for (const bucket of [NAMES.inbound, NAMES.archive, NAMES.error]) {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      }
      eventQueueUrl =
        (await sqs.send(new CreateQueueCommand({ QueueName: NAMES.eventQueue }))).QueueUrl ?? '';
      summaryQueueUrl =
        (await sqs.send(new CreateQueueCommand({ QueueName: NAMES.summaryQueue }))).QueueUrl ?? '';
      const topicArn =
        (await sns.send(new CreateTopicCommand({ Name: NAMES.topic }))).TopicArn ?? '';
      // Envelope delivery (not raw), as a real subscriber gets it: the Subject travels with it.
      await sns.send(
        new SubscribeCommand({
          TopicArn: topicArn,
          Protocol: 'sqs',
          Endpoint: await queueArn(summaryQueueUrl),
        }),
      );
      await s3.send(
        new PutBucketNotificationConfigurationCommand({
          Bucket: NAMES.inbound,
          NotificationConfiguration: {
            QueueConfigurations: [
              {
                QueueArn: await queueArn(eventQueueUrl),
                // As deployed: no suffix filter (S3's are case-sensitive), the function picks.
                Events: ['s3:ObjectCreated:*'],
              },
            ],
          },
        }),
      );

      // The handler reads its configuration at import (cold start): S3 and SNS are moto, DynamoDB
      // (table and idempotency ledger) is dynalite.
      Object.assign(process.env, local.env, {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_ENDPOINT_URL_SNS: endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        INBOUND_BUCKET: NAMES.inbound,
        ARCHIVE_BUCKET: NAMES.archive,
        ERROR_BUCKET: NAMES.error,
        TOPIC_ARN: topicArn,
      });
      ({ handler } = await import('../../src/handlers/ingest.ts'));
    });

    afterAll(async () => {
      for (const client of [s3, sqs, sns, ddb]) client?.destroy();
      await Promise.all([moto?.stop(), stack?.stop()]);
      for (const name of Object.keys(process.env)) {
        if (!(name in savedEnv)) delete process.env[name];
      }
      Object.assign(process.env, savedEnv);
    });

    // A test that failed half-way must not leave its notifications and summaries to the next one.
    beforeEach(async () => {
      await Promise.all([drain(eventQueueUrl), drain(summaryQueueUrl)]);
    });

    it('ingests every .csv named in the real notifications, whatever the key and its casing, and ignores the .txt', async () => {
      // Prepare
      for (const fixture of FIXTURES) await put(fixture.key, fixture.body);
      await put(TEXT_FILE.key, TEXT_FILE.body);
      const events = await receiveS3Events();

      // Every object is announced (no suffix filter), with its key encoded as S3 does.
      const keys = events.map(eventKey);
      expect(events.every((event) => event.Records.length === 1)).toBe(true);
      expect(keys.map((k) => k.decoded).sort()).toEqual(
        [...FIXTURES, TEXT_FILE].map((f) => f.key).sort(),
      );
      for (const { raw } of keys) expect(raw).toMatch(/^[A-Za-z0-9%+._~*'()!/-]+$/);
      expect(keys.map((k) => k.raw)).toContain('a%2Bb%3Dc%26d%2F100%25+done.csv');

      // Act
      for (const event of events) await handler(event, lambdaContext());

      // Assess: the rows are in the table.
      for (const [index, fixture] of FIXTURES.entries()) {
        expect(await tableRows(`M${index + 1}`)).toEqual(fixture.loaded);
      }
      // Each file moved under its exact original key; only the .txt is left in inbound.
      for (const fixture of FIXTURES) {
        const bucket = fixture.status === 'SUCCEEDED' ? NAMES.archive : NAMES.error;
        expect(await readObject(bucket, fixture.key)).toBe(fixture.body);
        expect(await exists(NAMES.inbound, fixture.key)).toBe(false);
      }
      const inbound = await s3.send(new ListObjectsV2Command({ Bucket: NAMES.inbound }));
      expect((inbound.Contents ?? []).map((o) => o.Key)).toEqual([TEXT_FILE.key]);
      expect(await readObject(NAMES.inbound, TEXT_FILE.key)).toBe(TEXT_FILE.body);
      // The reports sit next to the rejected files.
      const partialReport = await readObject(NAMES.error, 'partial/mixed rows & more.errors.csv');
      expect(partialReport.split('\n')[0]).toBe('line,field,value,error');
      expect(partialReport).toMatch(/^3,student_id,bad-id,/m);
      const failedReport = await readObject(NAMES.error, 'bad/wrong=header.errors.csv');
      expect(failedReport.split('\n').filter(Boolean)).toHaveLength(2);

      // Exactly one summary per file, read back through SNS → SQS, with the documented shape.
      const summaries = await receiveSummaries();
      expect(summaries.map((s) => s.body.source.key).sort()).toEqual(
        FIXTURES.map((f) => f.key).sort(),
      );
      for (const fixture of FIXTURES) {
        const summary = summaries.find((s) => s.body.source.key === fixture.key);
        const rejected = fixture.status !== 'SUCCEEDED';
        expect(summary?.subject.length).toBeLessThan(100);
        expect(summary?.subject).not.toMatch(/[\r\n]/);
        expect(summary?.subject).toContain(`[${fixture.status}]`);
        expect(Object.keys(summary?.body ?? {}).every((k) => SUMMARY_KEYS.includes(k))).toBe(true);
        expect(summary?.body).toMatchObject({
          status: fixture.status,
          source: { bucket: NAMES.inbound, key: fixture.key },
          destination: { bucket: rejected ? NAMES.error : NAMES.archive, key: fixture.key },
          rows: fixture.rows,
          errors: expect.any(Array),
          durationMs: expect.any(Number),
        });
        expect(summary?.body.report).toEqual(
          rejected
            ? { bucket: NAMES.error, key: fixture.key.replace(/\.csv$/, '.errors.csv') }
            : undefined,
        );
      }
      const partial = summaries.find((s) => s.body.status === 'PARTIAL');
      expect(partial?.body.errors).toEqual([
        { line: 3, field: 'student_id', error: expect.any(String) },
      ]);
    });

    it('treats a redelivered notification as a no-op: no second summary, nothing moved', async () => {
      // Prepare
      const key = 'redelivery/once only.csv';
      const body = `${HEADER}\nM90001,Once,Only,Idempotency\n`;
      await put(key, body);
      const [event] = await receiveS3Events();
      if (!event) throw new Error('No notification for the upload');

      // Act: S3 delivers at least once.
      await handler(structuredClone(event), lambdaContext());
      await handler(structuredClone(event), lambdaContext());

      // Assess
      expect(await tableRows('M9')).toEqual([['M90001', 'Once', 'Only', 'Idempotency']]);
      expect(await readObject(NAMES.archive, key)).toBe(body);
      const summaries = await receiveSummaries();
      expect(summaries.map((s) => [s.body.status, s.body.source.key])).toEqual([
        ['SUCCEEDED', key],
      ]);
    });

    // Runs after the tests of unversioned buckets: versioning cannot be switched off again.
    it('reads and deletes exactly the version the event names when the bucket is versioned', async () => {
      // Prepare
      await s3.send(
        new PutBucketVersioningCommand({
          Bucket: NAMES.inbound,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      );
      const key = 'versions/roster v=2 ü.csv';
      const first = `${HEADER}\nV10001,Old,Name,Versioning\n`;
      const second = `${HEADER}\nV10001,New,Name,Versioning\nV10002,Second,Upload,Versioning\n`;
      const uploads = [await put(key, first), await put(key, second)];
      const [v1, v2] = uploads;
      if (!v1?.versionId || !v2?.versionId) throw new Error('moto returned no VersionId');
      // moto leaves versionId out of its events; real S3 sets it for a versioned bucket. Fill it in
      // from the PutObject that produced the event (matched by ETag), as S3 would have.
      const events = (await receiveS3Events()).map((event) => {
        const object = event.Records[0]?.s3.object;
        const upload = uploads.find((u) => u.eTag === object?.eTag);
        if (!object || !upload) throw new Error(`No upload matches ${JSON.stringify(event)}`);
        if (object.versionId) expect(object.versionId).toBe(upload.versionId);
        object.versionId = upload.versionId;
        return event;
      });
      const [olderEvent, newerEvent] = events;
      if (!olderEvent || !newerEvent) throw new Error('Expected one notification per upload');
      expect(events.map((e) => e.Records[0]?.s3.object.versionId)).toEqual([
        v1.versionId,
        v2.versionId,
      ]);

      // Act: the older upload's event arrives while a newer version is already the latest.
      await handler(olderEvent, lambdaContext());

      // Assess: its version was read and moved; only that version left inbound.
      expect(await tableRows('V1')).toEqual([['V10001', 'Old', 'Name', 'Versioning']]);
      expect(await readObject(NAMES.archive, key)).toBe(first);
      let versions = await s3.send(
        new ListObjectVersionsCommand({ Bucket: NAMES.inbound, Prefix: key }),
      );
      expect((versions.Versions ?? []).map((v) => v.VersionId)).toEqual([v2.versionId]);
      expect(versions.DeleteMarkers ?? []).toEqual([]);
      expect(await readObject(NAMES.inbound, key)).toBe(second);

      // Act: the newer upload's event.
      await handler(newerEvent, lambdaContext());

      // Assess
      expect(await tableRows('V1')).toEqual([
        ['V10001', 'New', 'Name', 'Versioning'],
        ['V10002', 'Second', 'Upload', 'Versioning'],
      ]);
      expect(await readObject(NAMES.archive, key)).toBe(second);
      versions = await s3.send(
        new ListObjectVersionsCommand({ Bucket: NAMES.inbound, Prefix: key }),
      );
      expect(versions.Versions ?? []).toEqual([]);
      expect(versions.DeleteMarkers ?? []).toEqual([]);
      const summaries = await receiveSummaries();
      expect(summaries.map((s) => [s.body.status, s.body.rows.written])).toEqual([
        ['SUCCEEDED', 1],
        ['SUCCEEDED', 2],
      ]);
    });

    describe('with versioned archive and error buckets, as deployed', () => {
      beforeAll(async () => {
        for (const bucket of [NAMES.inbound, NAMES.archive, NAMES.error]) {
          await s3.send(
            new PutBucketVersioningCommand({
              Bucket: bucket,
              VersioningConfiguration: { Status: 'Enabled' },
            }),
          );
        }
      });

      it('keeps every upload of a name retrievable, each copy and each report a version naming its upload', async () => {
        // Prepare: roster.csv every week, and a rejected file sent twice.
        const key = 'weekly/roster.csv';
        const week1 = `${HEADER}\nW10001,Week,One,Roster\n`;
        const week2 = `${HEADER}\nW10001,Week,Two,Roster\nW10002,Also,Two,Roster\n`;
        const badKey = 'weekly/bad roster.csv';
        const bad1 = `${HEADER}\nW20001,Good,One,Roster\nbad-one,Bad,One,Roster\n`;
        const bad2 = `${HEADER}\nW20002,Good,Two,Roster\nbad-two,Bad,Two,Roster\n`;
        const uploads = [];
        for (const [k, body] of [
          [key, week1],
          [badKey, bad1],
          [key, week2],
          [badKey, bad2],
        ] as const) {
          const upload = await put(k, body);
          const [event] = await eventsAsS3SendsThem([upload]);
          if (!event) throw new Error('No event');
          await handler(event, lambdaContext());
          uploads.push(upload);
        }
        const [u1, b1, u2, b2] = uploads;

        // Assess: both archived uploads are there, the second is the current copy, and each
        // version says which upload it came from.
        const archived = await versionsOf(NAMES.archive, key);
        expect(archived.map((v) => [v.body, v.isLatest])).toEqual([
          [week2, true],
          [week1, false],
        ]);
        expect(archived.map((v) => v.metadata['source-version-id'])).toEqual([
          u2?.versionId,
          u1?.versionId,
        ]);
        expect(archived.map((v) => v.metadata['source-sequencer'])).toEqual([
          u2?.sequencer,
          u1?.sequencer,
        ]);
        // Both rejected uploads and both of their reports, each report with its own rows.
        const failed = await versionsOf(NAMES.error, badKey);
        expect(failed.map((v) => v.body)).toEqual([bad2, bad1]);
        const reports = await versionsOf(NAMES.error, 'weekly/bad roster.errors.csv');
        expect(reports).toHaveLength(2);
        expect(reports[0]?.body).toMatch(/^3,student_id,bad-two,/m);
        expect(reports[0]?.body).not.toContain('bad-one');
        expect(reports[1]?.body).toMatch(/^3,student_id,bad-one,/m);
        expect(reports.map((v) => v.metadata['source-version-id'])).toEqual([
          b2?.versionId,
          b1?.versionId,
        ]);
        // Each summary names the versions that belong to its upload.
        const summaries = await receiveSummaries();
        expect(summaries.map((s) => [s.body.source.key, s.body.source.versionId])).toEqual([
          [key, u1?.versionId],
          [badKey, b1?.versionId],
          [key, u2?.versionId],
          [badKey, b2?.versionId],
        ]);
        expect(summaries.map((s) => s.body.destination?.versionId)).toEqual([
          archived[1]?.versionId,
          failed[1]?.versionId,
          archived[0]?.versionId,
          failed[0]?.versionId,
        ]);
        expect(summaries.map((s) => s.body.report?.versionId)).toEqual([
          undefined,
          reports[1]?.versionId,
          undefined,
          reports[0]?.versionId,
        ]);
      });

      it('keeps the report of each of two long uploads of one name to its own rows', async () => {
        // Prepare: upload A of a name goes through two parts; then upload B of the same name
        // goes through two parts (the same part numbers as A's pieces).
        const key = 'long/same name.csv';
        const lambda = stack?.lambda;
        if (!lambda) throw new Error('no stack');
        const partsOf = (versionId: string | undefined, from: number) =>
          continuationsSince(lambda, from).filter((e) => e.upload.versionId === versionId);
        const seen = lambda.invocations.length;
        const a = await put(key, taggedCsv(2_000, 'alpha', 100));
        const [eventA] = await eventsAsS3SendsThem([a]);
        if (!eventA) throw new Error('No event');
        await handler(eventA, rowBudget(2));
        const [a1] = partsOf(a.versionId, seen);
        if (!a1) throw new Error('A did not continue');
        await handler(a1, rowBudget(2));
        const b = await put(key, taggedCsv(2_000, 'beta', 100));
        const [eventB] = await eventsAsS3SendsThem([b]);
        if (!eventB) throw new Error('No event');
        await handler(eventB, rowBudget(2));
        const [b1] = partsOf(b.versionId, seen);
        if (!b1) throw new Error('B did not continue');
        await handler(b1, rowBudget(2));

        // Act: A's next part (it stops there: B is newer) closes A's report; B runs to its end.
        const [, a2] = partsOf(a.versionId, seen);
        if (!a2) throw new Error('A did not hand over its third part');
        await handler(a2, rowBudget(2));
        for (let at = 1; ; at++) {
          const next = partsOf(b.versionId, seen)[at];
          if (!next) break;
          await handler(next, rowBudget(2));
        }

        // Assess: each summary names a report version that holds its own upload's rows only.
        const summaries = (await receiveSummaries()).filter((s) => s.body.source.key === key);
        expect(summaries.map((s) => [s.body.status, s.body.source.versionId])).toEqual([
          ['SUPERSEDED', a.versionId],
          ['PARTIAL', b.versionId],
        ]);
        const [ofA, ofB] = summaries.map((s) => s.body.report);
        const reportA = await readObject(NAMES.error, ofA?.key ?? '', ofA?.versionId);
        const reportB = await readObject(NAMES.error, ofB?.key ?? '', ofB?.versionId);
        expect(reportA).toMatch(/^line,field,value,error\n\d+,student_id,bad-alpha-/);
        expect(reportA).not.toContain('beta');
        expect(reportB.split('\n').filter(Boolean)).toHaveLength(1 + 20);
        expect(reportB).not.toContain('alpha');
        expect(summaries[1]?.body.rows).toEqual({
          total: 2_000,
          written: 1_980,
          rejected: 20,
          duplicates: 0,
        });
      });

      it("keeps the newer upload's rows and archived copy when the older upload's event comes last, and keeps the older one apart as superseded", async () => {
        // Prepare: two uploads of one name; S3 delivers the second one's event first.
        const key = 'late/roster.csv';
        const older = `${HEADER}\nL10001,Old,Name,Ordering\nL10003,Only,Old,Ordering\n`;
        const newer = `${HEADER}\nL10001,New,Name,Ordering\nL10002,Only,New,Ordering\n`;
        const v1 = await put(key, older);
        const v2 = await put(key, newer);
        const [olderEvent, newerEvent] = await eventsAsS3SendsThem([v1, v2]);
        if (!olderEvent || !newerEvent) throw new Error('Expected one notification per upload');

        // Act: the newer upload's event, then the older one's (late, or a retried delivery).
        await handler(newerEvent, lambdaContext());
        await handler(olderEvent, lambdaContext());

        // Assess: the table holds the newer upload's rows, nothing of the older one.
        expect(await tableRows('L1')).toEqual([
          ['L10001', 'New', 'Name', 'Ordering'],
          ['L10002', 'Only', 'New', 'Ordering'],
        ]);
        // The archive's only (and current) copy is the newer upload.
        const archived = await versionsOf(NAMES.archive, key);
        expect(archived.map((v) => [v.body, v.isLatest])).toEqual([[newer, true]]);
        // The older upload is kept, apart, naming its upload; nothing is left in inbound.
        const kept = await versionsOf(NAMES.error, `superseded/${key}`);
        expect(kept.map((v) => v.body)).toEqual([older]);
        expect(kept[0]?.metadata['source-version-id']).toBe(v1.versionId);
        const inbound = await s3.send(
          new ListObjectVersionsCommand({ Bucket: NAMES.inbound, Prefix: key }),
        );
        expect(inbound.Versions ?? []).toEqual([]);
        // Its summary says it was superseded and where it is.
        const summaries = await receiveSummaries();
        expect(summaries.map((s) => [s.body.status, s.body.source.versionId])).toEqual([
          ['SUCCEEDED', v2.versionId],
          ['SUPERSEDED', v1.versionId],
        ]);
        const superseded = summaries[1];
        expect(superseded?.subject).toBe('[SUPERSEDED] roster.csv: a newer upload replaced it');
        expect(superseded?.body).toMatchObject({
          rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
          destination: {
            bucket: NAMES.error,
            key: `superseded/${key}`,
            versionId: kept[0]?.versionId,
          },
        });
      });
    });
  },
);
