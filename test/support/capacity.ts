import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { seededRandom } from './faults.ts';

/**
 * A table's write capacity: N write units per second, refilled continuously, holding at most
 * `burst` units (one second's worth by default, far less than DynamoDB's 300 s of burst, so a
 * test sees the steady rate). One unit per item: every student record is under 1 KB.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt = performance.now();

  public constructor(
    private unitsPerSecond: number,
    private readonly burst = Math.max(1, unitsPerSecond),
  ) {
    this.tokens = this.burst;
  }

  /** Takes up to `units` whole units; returns how many it got. */
  public take(units: number, now = performance.now()): number {
    this.tokens = Math.min(
      this.burst,
      this.tokens + ((now - this.refilledAt) * this.unitsPerSecond) / 1000,
    );
    this.refilledAt = now;
    const granted = Math.min(units, Math.floor(this.tokens));
    this.tokens -= granted;
    return granted;
  }

  /** Changes the rate (0: the table accepts nothing) and empties the bucket. */
  public setRate(unitsPerSecond: number): void {
    this.take(0);
    this.unitsPerSecond = unitsPerSecond;
    this.tokens = 0;
  }
}

export interface CapacityStats {
  /** BatchWriteItem calls to the limited table. */
  calls: number;
  /** Calls that found no unit left: ProvisionedThroughputExceededException. */
  throttled: number;
  /** Calls that got part of their items back as UnprocessedItems. */
  partial: number;
  /** Items accepted (written, or passed on to the table behind). */
  accepted: number;
  /** When the first call came and the first and the last item were accepted (performance.now()). */
  firstCallAt: number;
  firstAcceptedAt: number;
  lastAcceptedAt: number;
}

export interface CapacityOptions {
  /** The table whose writes are limited; other tables and operations pass through untouched. */
  table: string;
  unitsPerSecond: number;
  burst?: number;
  /** The DynamoDB endpoint behind (dynalite); none: answer every call here, keeping nothing. */
  upstream?: string;
  /** Added before answering a call that is not passed on (the sink's round trip). */
  delayMs?: number;
  /** Start with no burst in the bucket, so a measurement sees only the steady rate. */
  startEmpty?: boolean;
  /**
   * Faults at random whatever the rate (a table splitting partitions, a neighbour on a shared
   * table): this share of calls rejected whole, and this share answered with half their items
   * unprocessed. Seeded, so every run sees the same pattern.
   */
  randomFaults?: { throttled: number; halved: number; seed?: number };
}

type WriteRequest = Record<string, unknown>;
interface BatchWriteBody {
  RequestItems?: Record<string, WriteRequest[]>;
}

const THROTTLED = JSON.stringify({
  __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
  message:
    'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
});

/**
 * A DynamoDB endpoint that enforces a table's write capacity at the wire, as DynamoDB does: a
 * BatchWriteItem call that finds too few units left gets the rest back as UnprocessedItems, one
 * that finds none gets ProvisionedThroughputExceededException (HTTP 400). In front of dynalite it
 * passes the accepted items on, so the table holds exactly what was accepted; without an upstream
 * it is a capacity-limited sink for the benchmark. Both directions are real HTTP, signed by the
 * SDK, so the client under test runs all of its own code.
 */
export class CapacityProxy {
  public readonly stats: CapacityStats = {
    calls: 0,
    throttled: 0,
    partial: 0,
    accepted: 0,
    firstCallAt: 0,
    firstAcceptedAt: 0,
    lastAcceptedAt: 0,
  };
  public readonly bucket: TokenBucket;
  public url = '';
  private readonly server: Server;
  private readonly random: () => number;

  private constructor(private readonly options: CapacityOptions) {
    this.random = seededRandom(options.randomFaults?.seed ?? 42);
    this.bucket = new TokenBucket(options.unitsPerSecond, options.burst);
    if (options.startEmpty) this.bucket.setRate(options.unitsPerSecond);
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.handle(request.headers, Buffer.concat(chunks)).then(
          ({ status, headers, body }) => {
            response.writeHead(status, headers);
            response.end(body);
          },
          (error: unknown) => {
            response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
            response.end(
              JSON.stringify({ __type: 'InternalServerError', message: (error as Error).message }),
            );
          },
        );
      });
    });
    this.server.keepAliveTimeout = 60_000;
  }

  public static async start(options: CapacityOptions): Promise<CapacityProxy> {
    const proxy = new CapacityProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    proxy.url = `http://127.0.0.1:${(proxy.server.address() as AddressInfo).port}`;
    return proxy;
  }

  public reset(): void {
    Object.assign(this.stats, {
      calls: 0,
      throttled: 0,
      partial: 0,
      accepted: 0,
      firstCallAt: 0,
      firstAcceptedAt: 0,
      lastAcceptedAt: 0,
    });
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer | string }> {
    const target = String(headers['x-amz-target'] ?? '');
    const limited = target.endsWith('.BatchWriteItem')
      ? (JSON.parse(body.toString('utf8')) as BatchWriteBody)
      : null;
    const requests = limited?.RequestItems?.[this.options.table];
    if (!limited || !requests) return this.pass(headers, body);

    if (this.stats.calls++ === 0) this.stats.firstCallAt = performance.now();
    const faults = this.options.randomFaults;
    const roll = faults ? this.random() : 1;
    const offered = !faults
      ? requests.length
      : roll < faults.throttled
        ? 0
        : roll < faults.throttled + faults.halved && requests.length > 1
          ? Math.ceil(requests.length / 2)
          : requests.length;
    const granted = offered === 0 ? 0 : this.bucket.take(offered);
    if (granted === 0) {
      this.stats.throttled++;
      await this.delay();
      return answer(400, THROTTLED);
    }
    const now = performance.now();
    this.stats.accepted += granted;
    if (this.stats.firstAcceptedAt === 0) this.stats.firstAcceptedAt = now;
    this.stats.lastAcceptedAt = now;
    const rest = requests.slice(granted);
    if (rest.length > 0) this.stats.partial++;
    const accepted = {
      ...limited,
      RequestItems: { ...limited.RequestItems, [this.options.table]: requests.slice(0, granted) },
    };
    let out: BatchWriteBody & { UnprocessedItems?: Record<string, WriteRequest[]> } = {
      UnprocessedItems: {},
    };
    if (this.options.upstream) {
      const passed = await this.pass(headers, Buffer.from(JSON.stringify(accepted)));
      if (passed.status !== 200) return passed;
      out = JSON.parse(passed.body.toString()) as typeof out;
    } else {
      await this.delay();
    }
    if (rest.length > 0) {
      const unprocessed = out.UnprocessedItems ?? {};
      unprocessed[this.options.table] = [...(unprocessed[this.options.table] ?? []), ...rest];
      out.UnprocessedItems = unprocessed;
    }
    return answer(200, JSON.stringify(out));
  }

  private delay(): Promise<void> {
    const ms = this.options.delayMs ?? 0;
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  /** Forwards a call unchanged (but for its length) to the endpoint behind, or answers `{}`. */
  private pass(
    headers: IncomingHttpHeaders,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
    const upstream = this.options.upstream;
    if (!upstream) return this.delay().then(() => answer(200, '{}'));
    return new Promise((resolve, reject) => {
      const forwarded = httpRequest(
        `${upstream}/`,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(body.length) },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () => {
            const out = Buffer.concat(chunks);
            resolve({
              status: response.statusCode ?? 500,
              headers: {
                'content-type': String(
                  response.headers['content-type'] ?? 'application/x-amz-json-1.0',
                ),
                'x-amzn-requestid': String(response.headers['x-amzn-requestid'] ?? ''),
              },
              body: out,
            });
          });
          response.on('error', reject);
        },
      );
      forwarded.on('error', reject);
      forwarded.end(body);
    });
  }
}

function answer(
  status: number,
  text: string,
): { status: number; headers: Record<string, string>; body: Buffer } {
  const body = Buffer.from(text, 'utf8');
  return {
    status,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': String(body.length),
      'x-amz-crc32': String(crc32(body)),
    },
    body,
  };
}

/** What the clock of a `tableClock` context says, in each phase (ms left). */
export const TABLE_CLOCK = {
  /** Plenty: the part reads and writes. */
  running: 900_000,
  /** Less than CONTINUATION_MARGIN_MS (60 s): the part stops reading at its next look. */
  stopping: 30_000,
  /** Less than the writer's safety margin (10 s): the writes still queued are cut. */
  cut: 5_000,
} as const;

/**
 * A Lambda context whose clock follows the table, not the wall: plenty of time until this part
 * has made `readCalls` BatchWriteItem calls to `stats`' table, then less than the continuation
 * margin, and `drainCalls` calls later less than the writer's safety margin. A part then stops
 * and hands over at the same point of its writes on an idle machine and on a busy one.
 */
export function tableClock(
  stats: Pick<CapacityStats, 'calls'>,
  readCalls: number,
  drainCalls: number,
): Context {
  const context = lambdaContext();
  const from = stats.calls;
  return {
    ...context,
    getRemainingTimeInMillis: () => {
      const made = stats.calls - from;
      if (made < readCalls) return TABLE_CLOCK.running;
      return made < readCalls + drainCalls ? TABLE_CLOCK.stopping : TABLE_CLOCK.cut;
    },
  };
}
