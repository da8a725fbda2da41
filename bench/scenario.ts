/**
 * One benchmark scenario in a process of its own, so its peak RSS is its own. Takes a JSON
 * argument (ScenarioInput), prints one JSON line (ScenarioOutput). Run by bench/run.ts, or by
 * hand under `node --cpu-prof` to profile a scenario.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { createClients } from '../src/clients.ts';
import { type Config, DEFAULTS, loadConfig } from '../src/config.ts';
import { createCsvParser } from '../src/csv/createCsvParser.ts';
import { Utf8Validator } from '../src/csv/Utf8Validator.ts';
import type { RoutedDataset } from '../src/datasets.ts';
import { BATCH_SIZE, BatchWriter } from '../src/dynamo/BatchWriter.ts';
import { loadRows } from '../src/pipeline/loadRows.ts';
import { ReportWriter } from '../src/s3/ReportWriter.ts';

export type ScenarioName =
  /** a. csv-parse alone, array mode, default options. */
  | 'parse'
  /** a′. Our parser (UTF-8 check + createCsvParser), nothing else: splits b's cost. */
  | 'parser'
  /** b. loadRows with a writer whose client answers at once: all CPU, no network. */
  | 'cpu'
  /** b1. loadRows without a writer (the strict policy's first pass). */
  | 'validate'
  /** b2. loadRows and a BatchWriter (batches built and marshalled) whose client drops them. */
  | 'marshal'
  /** c and e. loadRows over HTTP with the production client settings. */
  | 'load'
  /** d. Whole file in memory, csv-parse/sync, one PutItem at a time. */
  | 'naive'
  /** e′. Pre-built, pre-marshalled 25-item batches at the same concurrency. */
  | 'ceiling';

export interface ScenarioInput {
  scenario: ScenarioName;
  file: string;
  /** DynamoDB endpoint for load, naive and ceiling. */
  endpoint?: string;
  /** WRITE_CONCURRENCY; the default is config.ts's. */
  concurrency?: number;
  table?: string;
  /** A small file loaded first, untimed, with the same client: JIT, SDK and sockets warm. */
  warmup?: string;
}

export interface ScenarioOutput {
  /** Data rows read (the header is not counted). */
  rows: number;
  bytes: number;
  ms: number;
  /** CPU time (user + system, all threads) over the same span: steadier than ms on a busy box. */
  cpuMs: number;
  /** Peak resident set size of this process, from the kernel (MB = 10⁶ bytes). */
  maxRssMB: number;
  /** Heap still reachable after a full GC at the end: flat if nothing accumulates per row. */
  liveHeapMB: number;
}

const TABLE = 'students';

function configFor(input: ScenarioInput): Config {
  return loadConfig({
    TABLE_NAME: input.table ?? TABLE,
    ARCHIVE_BUCKET: 'archive',
    ERROR_BUCKET: 'errors',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:bench',
    IDEMPOTENCY_TABLE: 'ledger',
    WRITE_CONCURRENCY: String(input.concurrency ?? DEFAULTS.writeConcurrency),
  });
}

/** Never opened for a clean file: the report is only created by the first rejected row. */
function unusedReport(): ReportWriter {
  return new ReportWriter(new S3Client({}), { bucket: 'errors', key: 'bench.errors.csv' });
}

/**
 * The production write client (src/clients.ts) with its transport swapped for one that answers
 * `{}` at once: every command is still serialised and signed, so all the CPU the SDK spends on a
 * batch is counted, and none of the network.
 */
function discardingWriteClient(config: Config): DynamoDBClient {
  const { writes: ddb } = createClients(config);
  const body = new TextEncoder().encode('{}');
  const handler = {
    handle: async () => ({ response: { statusCode: 200, headers: {}, body } }),
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  (ddb.config as { requestHandler: unknown }).requestHandler = handler;
  return ddb;
}

/** Data rows a parser emits (the header is one record). */
async function countParsed(stream: NodeJS.ReadableStream): Promise<number> {
  let rows = 0;
  stream.on('data', () => {
    rows++;
  });
  await once(stream, 'end');
  return rows - 1;
}

async function runParse(input: ScenarioInput): Promise<number> {
  return countParsed(createReadStream(input.file).pipe(parse()));
}

async function runParser(input: ScenarioInput): Promise<number> {
  const parser = createCsvParser();
  createReadStream(input.file).pipe(new Utf8Validator()).pipe(parser);
  return countParsed(parser);
}

/**
 * Stands in for the SDK at the BatchWriter's edge: the batch arrives built and marshalled (the
 * writer builds `{S: …}` values itself) and is dropped. No SDK middleware runs.
 */
function droppingClient(): DynamoDBClient {
  const send = async () => ({});
  return { send } as unknown as DynamoDBClient;
}

async function prepareLoad(
  input: ScenarioInput,
  transport: 'http' | 'discard' | 'marshal' | 'none',
): Promise<() => Promise<number>> {
  const config = configFor(input);
  const ddb =
    transport === 'discard'
      ? discardingWriteClient(config)
      : transport === 'marshal'
        ? droppingClient()
        : createClients(config).writes;
  // One dataset (TABLE_NAME, SCHEMA_FILE): the benchmark's table and schema.
  const only = onlyDataset(config);
  const load = async (file: string): Promise<number> => {
    const writer =
      transport === 'none'
        ? null
        : new BatchWriter(ddb, {
            tableName: only.table,
            concurrency: config.writeConcurrency,
          });
    const result = await loadRows(createReadStream(file), {
      dataset: only.dataset,
      writer,
      report: unusedReport(),
      maxErrorRate: config.maxErrorRate,
    });
    if (result.fileError || result.rows.rejected > 0 || result.rows.duplicates > 0) {
      throw new Error(`The benchmark file did not load cleanly: ${JSON.stringify(result)}`);
    }
    if (writer && writer.stats.itemsWritten !== result.rows.written) {
      throw new Error(`Wrote ${writer.stats.itemsWritten} of ${result.rows.written} rows`);
    }
    return result.rows.total;
  };
  if (input.warmup) await load(input.warmup);
  return () => load(input.file);
}

function onlyDataset(config: Config): RoutedDataset {
  const [only] = config.datasets.list;
  if (!only) throw new Error('the benchmark configuration has no dataset');
  return only;
}

/** The loader most first drafts are: simple, correct, and one round trip per row. */
async function runNaive(input: ScenarioInput): Promise<number> {
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: input.endpoint }));
  const records = parseSync(await readFile(input.file, 'utf8'), { columns: true }) as Record<
    string,
    string
  >[];
  for (const record of records) {
    await ddb.send(new PutCommand({ TableName: input.table ?? TABLE, Item: record }));
  }
  return records.length;
}

/** Items and batches are built before the clock starts; only the sending is timed. */
async function prepareCeiling(input: ScenarioInput): Promise<() => Promise<number>> {
  const config = configFor(input);
  const { writes } = createClients(config);
  // The production write client and socket pool, with batches built before the clock starts.
  const send = (requests: WriteRequest[]) =>
    writes.send(
      new BatchWriteItemCommand({ RequestItems: { [onlyDataset(config).table]: requests } }),
    );
  const batchesOf = async (file: string): Promise<WriteRequest[][]> => {
    const records = parseSync(await readFile(file, 'utf8'), { columns: true }) as Record<
      string,
      string
    >[];
    const batches: WriteRequest[][] = [];
    for (let i = 0; i < records.length; i += BATCH_SIZE) {
      batches.push(
        records.slice(i, i + BATCH_SIZE).map((record) => ({
          PutRequest: {
            Item: Object.fromEntries(Object.entries(record).map(([k, v]) => [k, { S: v }])),
          },
        })),
      );
    }
    return batches;
  };
  const sendAll = async (batches: WriteRequest[][]): Promise<number> => {
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++] as WriteRequest[];
        const out = await send(batch);
        const left = Object.values(out.UnprocessedItems ?? {}).flat().length;
        if (left > 0) throw new Error(`${left} UnprocessedItems: the ceiling would be wrong`);
      }
    };
    await Promise.all(Array.from({ length: config.writeConcurrency }, worker));
    return batches.reduce((sum, batch) => sum + batch.length, 0);
  };
  if (input.warmup) await sendAll(await batchesOf(input.warmup));
  const batches = await batchesOf(input.file);
  return () => sendAll(batches);
}

async function prepare(input: ScenarioInput): Promise<() => Promise<number>> {
  switch (input.scenario) {
    case 'parse':
      return () => runParse(input);
    case 'parser':
      return () => runParser(input);
    case 'cpu':
      return prepareLoad(input, 'discard');
    case 'validate':
      return prepareLoad(input, 'none');
    case 'marshal':
      return prepareLoad(input, 'marshal');
    case 'load':
      return prepareLoad(input, 'http');
    case 'naive':
      return () => runNaive(input);
    case 'ceiling':
      return prepareCeiling(input);
    default:
      throw new Error(`Unknown scenario ${String(input.scenario)}`);
  }
}

async function main(): Promise<void> {
  const input = JSON.parse(process.argv[2] ?? '{}') as ScenarioInput;
  if (input.endpoint) process.env.AWS_ENDPOINT_URL_DYNAMODB = input.endpoint;
  const { size } = await stat(input.file);
  // Clients, warm-up and pre-built batches are made before the clock starts.
  const run = await prepare(input);
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const rows = await run();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuStarted);
  const maxRssMB = (process.resourceUsage().maxRSS * 1024) / 1e6;
  // Run with --expose-gc by bench/run.ts; without it the live heap is reported as measured.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const output: ScenarioOutput = {
    rows,
    bytes: size,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMB,
    liveHeapMB: process.memoryUsage().heapUsed / 1e6,
  };
  process.stdout.write(`${JSON.stringify(output)}\n`);
}

await main();
