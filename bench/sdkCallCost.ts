/**
 * The CPU cost of one 25-item BatchWriteItem call through each client set-up the writer could
 * use, measured side by side in rounds (median of the rounds), so a shared machine's noise hits
 * every variant alike. Two transports: one that answers at once without touching the network
 * (what the SDK costs), and keep-alive HTTP to a sink in another process that answers at once
 * (what the SDK plus a request handler cost).
 *
 *   npx tsx bench/sdkCallCost.ts [--calls 2000] [--rounds 5] [--only LeanHttpHandler]
 *   node --cpu-prof --cpu-prof-dir=.scratch/profiles --import tsx bench/sdkCallCost.ts --only Lean
 */
import { fork } from 'node:child_process';
import { Agent, request } from 'node:http';
import { parseArgs } from 'node:util';
import { BatchWriteItemCommand, DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import {
  SignedBatchWriteItemCommand,
  sendSignedBatchWrite,
} from '../src/dynamo/signedBatchWrite.ts';
import { LatencySink } from './LatencySink.ts';
import { LeanHttpHandler } from './LeanHttpHandler.ts';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '2000' },
    rounds: { type: 'string', default: '5' },
    serve: { type: 'boolean', default: false },
    /** Only the variants whose name contains this (e.g. to profile one under --cpu-prof). */
    only: { type: 'string' },
    /** Leave out the variants whose name contains this. */
    skip: { type: 'string' },
  },
});

const TABLE = 'students';
const credentials = { accessKeyId: 'BENCH', secretAccessKey: 'BENCH' };

function batches(count: number): {
  plain: Record<string, string>[][];
  marshalled: WriteRequest[][];
} {
  const plain: Record<string, string>[][] = [];
  const marshalled: WriteRequest[][] = [];
  for (let b = 0; b < count; b++) {
    const items = Array.from({ length: 25 }, (_, i) => ({
      student_id: `A${String((b * 25 + i) % 100_000).padStart(5, '0')}`,
      first_name: `Firstname${i}`,
      last_name: `Lastname${b}`,
      course: `Course ${b % 97}`,
    }));
    plain.push(items);
    marshalled.push(
      items.map((item) => ({
        PutRequest: {
          Item: Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: v }])),
        },
      })),
    );
  }
  return { plain, marshalled };
}

const instant = {
  handle: async () => ({
    response: { statusCode: 200, headers: {}, body: new TextEncoder().encode('{}') },
  }),
  updateHttpClientConfig: () => undefined,
  httpHandlerConfigs: () => ({}),
  destroy: () => undefined,
};

type Send = (batch: number) => Promise<unknown>;

function lowLevel(
  endpoint: string | null,
  data: WriteRequest[][],
  options: {
    cache?: boolean;
    trim?: boolean;
    lean?: boolean;
    /**
     * sdk: BatchWriteItemCommand through the SDK's middleware. command: SignedBatchWriteItemCommand
     * (the body built by JSON.stringify, signed by the client's signer, sent by its handler; client
     * middleware still runs). direct: sendSignedBatchWrite, no client.send at all.
     */
    mode?: 'sdk' | 'command' | 'direct';
  },
): Send {
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
    ...(endpoint ? { endpoint } : {}),
    ...(options.cache ? { cacheMiddleware: true } : {}),
    requestHandler: endpoint
      ? options.lean
        ? (new LeanHttpHandler({ maxSockets: 20 }) as unknown as NodeHttpHandler)
        : new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 20 }) })
      : (instant as unknown as NodeHttpHandler),
  });
  client.middlewareStack.remove('loggerMiddleware');
  if (options.trim) {
    client.middlewareStack.remove('getUserAgentMiddleware');
    client.middlewareStack.remove('recursionDetectionMiddleware');
  }
  const input = (b: number) => ({ RequestItems: { [TABLE]: data[b % data.length] ?? [] } });
  if (options.mode === 'direct') return (b) => sendSignedBatchWrite(client.config, input(b));
  if (options.mode === 'command')
    return (b) => client.send(new SignedBatchWriteItemCommand(input(b)));
  return (b) => client.send(new BatchWriteItemCommand(input(b)));
}

async function main(): Promise<void> {
  const calls = Number(args.calls);
  const rounds = Number(args.rounds);
  const { plain, marshalled } = batches(400);
  const server = fork(new URL(import.meta.url).pathname, ['--serve'], {
    execArgv: ['--import', 'tsx'],
  });
  const url = await new Promise<string>((resolve) =>
    server.once('message', (m) => resolve(String(m))),
  );

  const document = (endpoint: string | null): Send => {
    const base = new DynamoDBClient({
      region: 'us-east-1',
      credentials,
      ...(endpoint ? { endpoint } : {}),
      requestHandler: endpoint
        ? new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 20 }) })
        : (instant as unknown as NodeHttpHandler),
    });
    base.middlewareStack.remove('loggerMiddleware');
    const ddb = DynamoDBDocumentClient.from(base);
    return (b) =>
      ddb.send(
        new BatchWriteCommand({
          RequestItems: {
            [TABLE]: (plain[b % plain.length] ?? []).map((Item) => ({ PutRequest: { Item } })),
          },
        }),
      );
  };
  const bodies = marshalled.map((batch) => JSON.stringify({ RequestItems: { [TABLE]: batch } }));
  const bare = (): Send => {
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const target = new URL(url);
    return (b) =>
      new Promise((resolve, reject) => {
        const body = bodies[b % bodies.length] ?? '';
        const req = request(
          {
            agent,
            host: target.hostname,
            port: target.port,
            method: 'POST',
            path: '/',
            headers: {
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': 'DynamoDB_20120810.BatchWriteItem',
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            res.resume();
            res.on('end', resolve);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
  };

  const trimmed = { cache: true, trim: true };
  const variants: { name: string; http: boolean; send: Send }[] = [
    { name: 'DocumentClient + BatchWriteCommand (before)', http: false, send: document(null) },
    { name: 'low-level, pre-marshalled', http: false, send: lowLevel(null, marshalled, {}) },
    { name: '+ cacheMiddleware', http: false, send: lowLevel(null, marshalled, { cache: true }) },
    {
      name: '+ no user-agent, recursion-detection',
      http: false,
      send: lowLevel(null, marshalled, trimmed),
    },
    {
      name: 'signed: SignedBatchWriteItemCommand',
      http: false,
      send: lowLevel(null, marshalled, { ...trimmed, mode: 'command' }),
    },
    {
      name: 'signed: sendSignedBatchWrite, direct',
      http: false,
      send: lowLevel(null, marshalled, { ...trimmed, mode: 'direct' }),
    },
    { name: 'HTTP: DocumentClient (before)', http: true, send: document(url) },
    {
      name: 'HTTP: trimmed client, NodeHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, trimmed),
    },
    {
      name: 'HTTP: trimmed client, LeanHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, { ...trimmed, lean: true }),
    },
    {
      name: 'HTTP: signed command, NodeHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, { ...trimmed, mode: 'command' }),
    },
    {
      name: 'HTTP: signed direct, NodeHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, { ...trimmed, mode: 'direct' }),
    },
    {
      name: 'HTTP: signed command, LeanHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, { ...trimmed, mode: 'command', lean: true }),
    },
    {
      name: 'HTTP: signed direct, LeanHttpHandler',
      http: true,
      send: lowLevel(url, marshalled, { ...trimmed, mode: 'direct', lean: true }),
    },
    { name: 'HTTP: bare http.request, same body', http: true, send: bare() },
  ];
  const chosen = variants.filter(
    (v) =>
      (!args.only || v.name.includes(args.only)) && (!args.skip || !v.name.includes(args.skip)),
  );
  variants.splice(0, variants.length, ...chosen);
  const results = new Map<string, number[]>();
  const run = async (send: Send, n: number) => {
    // 16 calls in flight, as the writer keeps them.
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < n) await send(next++);
      }),
    );
  };
  for (const v of variants) await run(v.send, 400); // warm-up: JIT, sockets
  for (let round = 0; round < rounds; round++) {
    for (const v of variants) {
      const cpu = process.cpuUsage();
      await run(v.send, calls);
      const used = process.cpuUsage(cpu);
      const micros = (used.user + used.system) / calls;
      results.set(v.name, [...(results.get(v.name) ?? []), micros]);
    }
  }
  server.disconnect();
  server.kill();
  console.log(
    `CPU µs per 25-item BatchWriteItem call (median of ${rounds} rounds of ${calls} calls, 16 in flight):`,
  );
  for (const v of variants) {
    const sorted = [...(results.get(v.name) ?? [])].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    console.log(
      `  ${v.name.padEnd(48)} ${median.toFixed(0).padStart(5)} µs  (${(median / 25).toFixed(1)} µs/row)`,
    );
  }
}

if (args.serve) {
  // The sink's own process: its CPU is not counted against the client. It ends with its parent.
  const sink = new LatencySink(0);
  const url = await sink.listen();
  process.on('disconnect', () => process.exit(0));
  process.send?.(url);
} else {
  await main();
}
