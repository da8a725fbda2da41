import { gzipSync } from 'node:zlib';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, S3Event } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { LocalStack } from '../../src/local/LocalStack.ts';
import { isContinuationEvent } from '../../src/pipeline/continuation.ts';
import type { Clients } from '../../src/pipeline/ingestObject.ts';
import { createIngestOnce } from '../../src/pipeline/ingestOnce.ts';

/*
 * A long file that is not the plain case (extra columns, another separator, another encoding,
 * compressed) continues over several invocations exactly like one uninterrupted run: what part 0
 * decided from the first line is in the checkpoint, and the offsets are the source's bytes.
 */
const events = new Map<string, S3Event>();
let stack: LocalStack;
let s3: S3Client;
let clients: Clients;
let createHandler: typeof import('../../src/handlers/ingest.ts').createHandler;

beforeAll(async () => {
  stack = await LocalStack.start({
    onS3Event: (event) => events.set(event.Records[0]?.s3.object.key ?? '', event),
  });
  Object.assign(process.env, stack.env);
  ({ createHandler } = await import('../../src/handlers/ingest.ts'));
  clients = createClients(loadConfig(stack.env));
  s3 = stack.s3Client();
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
});

type Handler = ReturnType<typeof createHandler>;

function handlerWith(env: Record<string, string> = {}): Handler {
  const config = loadConfig({ ...stack.env, ...env });
  return createHandler(createIngestOnce({ clients: createClients(config), config }));
}

/** A clock that runs out after `checks` looks (one every 256 rows): parts of a fixed size. */
function rowBudget(checks: number): Context {
  const context = lambdaContext();
  let calls = 0;
  return { ...context, getRemainingTimeInMillis: () => (calls++ < checks ? 900_000 : 1_000) };
}

interface CsvShape {
  separator?: string;
  /** Accented names from this row on, so a wrong decoding shows in the table. */
  accentsFrom?: number;
}

/**
 * `rows` rows with two columns outside the schema (email, term), a quoted field holding the
 * separator and a line break every 256 rows, one row in 500 invalid.
 */
function longCsv(rows: number, tag: string, shape: CsvShape = {}): string {
  const sep = shape.separator ?? ',';
  const lines = [['email', 'last_name', 'student_id', 'course', 'term', 'first_name'].join(sep)];
  for (let i = 0; i < rows; i++) {
    const id = i % 500 === 499 ? 'bad' : `L${String(i).padStart(5, '0')}`;
    const last = i % 256 === 255 ? `"Last${sep} ""${i}""\nline two"` : `Last${i}`;
    const first = i >= (shape.accentsFrom ?? rows) ? `José ${i} “€”` : `First${i}`;
    lines.push([`p${i}@example.edu`, last, id, `${tag} C${i % 7}`, '2026-1', first].join(sep));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Text as Windows-1252 bytes (the few glyphs the rows use outside Latin-1). */
function windows1252(text: string): Buffer {
  const c1: Record<string, number> = { '€': 0x80, '“': 0x93, '”': 0x94 };
  return Buffer.from([...text].map((char) => c1[char] ?? char.charCodeAt(0)));
}

async function upload(key: string, body: Buffer | string): Promise<S3Event> {
  await s3.send(new PutObjectCommand({ Bucket: stack.names.inbound, Key: key, Body: body }));
  const event = events.get(key);
  if (!event) throw new Error(`no S3 event for ${key}`);
  return event;
}

/** Runs an event, then every continuation it hands on; returns how many continuations ran. */
async function drive(handler: Handler, event: S3Event, context: () => Context): Promise<number> {
  const seen = stack.lambda.invocations.length;
  await handler(structuredClone(event), context());
  let runs = 0;
  while (stack.lambda.invocations.length > seen + runs) {
    const next: unknown = JSON.parse(stack.lambda.invocations[seen + runs]?.payload ?? 'null');
    runs++;
    if (!isContinuationEvent(next)) throw new Error('unexpected invocation');
    await handler(next, context());
  }
  return runs;
}

/** The table's rows for a tag: every attribute but the tag. */
async function tableFor(tag: string): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  let ExclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await clients.ddb.send(
      new ScanCommand({ TableName: stack.names.table, ExclusiveStartKey }),
    );
    for (const item of page.Items ?? []) {
      if (!String(item.course).startsWith(`${tag} `)) continue;
      const { course, student_id, ...rest } = item;
      rows.set(`${student_id}|${String(course).slice(tag.length)}`, JSON.stringify(rest));
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return rows;
}

function summariesFor(key: string): Record<string, unknown>[] {
  return stack.summaries
    .map((m) => JSON.parse(JSON.parse(m.message).sqs))
    .filter((s) => s.source.key === key);
}

/** Loads `body` once in one go and once in parts; both must give the same table and summary. */
async function compare(
  name: string,
  body: (tag: string) => Buffer | string,
  { env = {}, ext = '.csv' }: { env?: Record<string, string>; ext?: string } = {},
): Promise<{ parts: number; summary: Record<string, unknown> | undefined }> {
  const handler = handlerWith(env);
  const single = await upload(`long/${name}-single${ext}`, body(`${name}-single`));
  const split = await upload(`long/${name}-split${ext}`, body(`${name}-split`));
  expect(await drive(handler, single, () => lambdaContext())).toBe(0);
  const parts = await drive(handler, split, () => rowBudget(4));
  const [one] = summariesFor(`long/${name}-single${ext}`);
  const [other] = summariesFor(`long/${name}-split${ext}`);
  expect(other).toEqual({
    ...one,
    source: expect.anything(),
    destination: expect.anything(),
    report: expect.anything(),
    durationMs: expect.any(Number),
  });
  const [a, b] = [await tableFor(`${name}-single`), await tableFor(`${name}-split`)];
  expect(b.size).toBeGreaterThan(0);
  expect(b).toEqual(a);
  return { parts, summary: other };
}

describe('Continuation: files that are not the plain case', () => {
  it('keeps columns outside the schema out of every part, and names them once', async () => {
    // Act
    const { parts, summary } = await compare('extra', (tag) => longCsv(3_000, tag));

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { columnsNotLoaded: ['email', 'term'], columnsNotLoadedCount: 2 },
    });
    for (const row of (await tableFor('extra-split')).values()) {
      expect(Object.keys(JSON.parse(row)).sort()).toEqual(['first_name', 'last_name']);
    }
  }, 120_000);

  it('keeps the separator decided by part 0 for every later part', async () => {
    // Act
    const { parts, summary } = await compare('semicolon', (tag) =>
      longCsv(3_000, tag, { separator: ';' }),
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { separator: ';', columnsNotLoaded: ['email', 'term'] },
    });
    const rows = await tableFor('semicolon-split');
    expect(JSON.parse(rows.get('L00255| C3') ?? 'null')).toEqual({
      last_name: 'Last; "255"\nline two',
      first_name: 'First255',
    });
  }, 120_000);

  it.each([
    ['utf-16le', 'UTF-16 LE', (text: string) => Buffer.from(`\ufeff${text}`, 'utf16le')],
    ['utf-16be', 'UTF-16 BE', (text: string) => Buffer.from(`\ufeff${text}`, 'utf16le').swap16()],
  ])(
    'resumes a %s file at byte offsets of the object',
    async (name, said, encode) => {
      // Act
      const { parts, summary } = await compare(name, (tag) =>
        encode(longCsv(3_000, tag, { separator: '\t', accentsFrom: 0 })),
      );

      // Assess
      expect(parts).toBeGreaterThanOrEqual(2);
      expect(summary).toMatchObject({
        status: 'PARTIAL',
        rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
        csv: { separator: '\t', encoding: said },
      });
      const rows = await tableFor(`${name}-split`);
      expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toEqual({
        last_name: 'Last2998',
        first_name: 'José 2998 “€”',
      });
    },
    120_000,
  );

  it('under SOURCE_ENCODING=auto, falls back to Windows-1252 in a later part and says so', async () => {
    // Act: ASCII only for the first 2,000 rows (two parts), then Windows-1252 letters
    const { parts, summary } = await compare(
      'ansi',
      (tag) => windows1252(longCsv(3_000, tag, { accentsFrom: 2_000 })),
      { env: { SOURCE_ENCODING: 'auto' } },
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { encoding: 'Windows-1252' },
    });
    const rows = await tableFor('ansi-split');
    expect(JSON.parse(rows.get('L01998| C3') ?? 'null')).toMatchObject({ first_name: 'First1998' });
    expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toMatchObject({
      first_name: 'José 2998 “€”',
    });
  }, 120_000);

  it('continues a .csv.gz: each part inflates from the start and skips to its offset', async () => {
    // Act
    const { parts, summary } = await compare(
      'gzip',
      (tag) => gzipSync(longCsv(3_000, tag, { separator: ';', accentsFrom: 1_000 })),
      { ext: '.csv.gz' },
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { separator: ';', columnsNotLoaded: ['email', 'term'] },
    });
    const rows = await tableFor('gzip-split');
    expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toMatchObject({
      first_name: 'José 2998 “€”',
    });
  }, 120_000);
});
