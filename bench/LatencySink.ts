import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the sink saw, to check that the loader really sent every row. */
export interface SinkStats {
  requests: number;
  /** Operation name (from X-Amz-Target) → calls. */
  operations: Record<string, number>;
  bytes: number;
  /** TCP connections accepted: about the write window when keep-alive works, one per call when not. */
  connections: number;
}

/**
 * A DynamoDB-protocol endpoint that keeps nothing: every call is drained and answered after a
 * fixed delay, BatchWriteItem with `{"UnprocessedItems":{}}`, anything else with `{}`. It models
 * an in-region round trip, where latency rather than CPU limits a loader.
 */
export class LatencySink {
  public readonly stats: SinkStats = { requests: 0, operations: {}, bytes: 0, connections: 0 };
  public url = '';
  private readonly server: Server;

  public constructor(private readonly delayMs: number) {
    this.server = createServer((request, response) => {
      const target = String(request.headers['x-amz-target'] ?? '');
      const operation = target.slice(target.indexOf('.') + 1);
      request.on('data', (chunk: Buffer) => {
        this.stats.bytes += chunk.length;
      });
      request.on('end', () => {
        this.stats.requests++;
        this.stats.operations[operation] = (this.stats.operations[operation] ?? 0) + 1;
        const body = operation === 'BatchWriteItem' ? '{"UnprocessedItems":{}}' : '{}';
        setTimeout(() => {
          response.writeHead(200, {
            'content-type': 'application/x-amz-json-1.0',
            'content-length': Buffer.byteLength(body),
            'x-amzn-requestid': String(this.stats.requests),
          });
          response.end(body);
        }, this.delayMs);
      });
    });
    // Sockets stay open across calls, as they do to DynamoDB.
    this.server.keepAliveTimeout = 60_000;
    this.server.on('connection', () => {
      this.stats.connections++;
    });
  }

  public async listen(host = '127.0.0.1'): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, host, resolve));
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  public reset(): void {
    this.stats.requests = 0;
    this.stats.operations = {};
    this.stats.bytes = 0;
    this.stats.connections = 0;
  }

  public async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
