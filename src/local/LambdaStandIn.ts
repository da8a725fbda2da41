import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { close, listen } from './httpServer.ts';

export type InvokeListener = (functionName: string, payload: string) => Promise<unknown> | unknown;

/** A function's recursive loop setting, as Lambda's PutFunctionRecursionConfig names it. */
export type RecursiveLoop = 'Allow' | 'Terminate';

/**
 * Lambda's recursive loop detection: an event that has been through the same function this many
 * times by asynchronous invocation is not run again when the function's setting is Terminate.
 */
export const RECURSION_LIMIT = 16;

export interface Invocation {
  functionName: string;
  payload: string;
  /** How many times this chain of invocations has been through the function (0: not chained). */
  depth: number;
}

/** The X-Ray trace header Lambda hands its function (the SDK passes it on in every request). */
const TRACE_ENV = '_X_AMZN_TRACE_ID';

function depthOf(traceHeader: string | string[] | undefined): number {
  const header = Array.isArray(traceHeader) ? traceHeader[0] : traceHeader;
  const match = /(?:^|;)\s*Lineage=(?:\d+:)?[0-9a-f]+:(\d+)/i.exec(header ?? '');
  return match?.[1] ? Number(match[1]) : 0;
}

function traceHeader(depth: number): string {
  const root = `1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
  return `Root=${root};Parent=${randomBytes(8).toString('hex')};Sampled=0;Lineage=a87bd80c:${depth}`;
}

/**
 * The part of the Lambda API a long file needs: Invoke. An `Event` invocation is answered 202 at
 * once and run afterwards, as Lambda queues it; a `RequestResponse` one returns the result.
 * Recursive loop detection is applied as Lambda does, by the trace header's lineage count: a run
 * gets its count in `_X_AMZN_TRACE_ID` (the SDK sends it with every call it makes), and an
 * Event invocation whose count would pass RECURSION_LIMIT is dropped under `Terminate` (Lambda
 * sends it to the on-failure destination). Runs are told apart by that one variable, so the
 * count is exact for chains that run one invocation at a time, as a long file's parts do.
 */
export class LambdaStandIn {
  public readonly invocations: Invocation[] = [];
  /** Event invocations that recursive loop detection stopped. */
  public readonly dropped: Invocation[] = [];
  private server: Server | null = null;
  private running = 0;

  public constructor(
    private readonly onInvoke?: InvokeListener,
    /** Lambda's default for every function is Terminate. */
    public recursiveLoop: RecursiveLoop = 'Terminate',
  ) {}

  /** Resolves once no Event invocation is queued or running. */
  public async settled(): Promise<void> {
    while (this.running > 0) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  public async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer(async (req, res) => {
      const match = /^\/2015-03-31\/functions\/([^/]+)\/invocations/.exec(req.url ?? '');
      if (req.method !== 'POST' || !match?.[1]) {
        res.writeHead(404, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ResourceNotFoundException',
        });
        res.end(
          JSON.stringify({
            message: `Not supported by the local Lambda endpoint: ${req.method} ${req.url}`,
          }),
        );
        return;
      }
      let payload = '';
      for await (const chunk of req) payload += chunk;
      const functionName = decodeURIComponent(match[1]);
      if (req.headers['x-amz-invocation-type'] === 'Event') {
        const invocation = {
          functionName,
          payload,
          depth: depthOf(req.headers['x-amzn-trace-id']) + 1,
        };
        res.writeHead(202).end();
        if (invocation.depth > RECURSION_LIMIT && this.recursiveLoop === 'Terminate') {
          this.dropped.push(invocation);
          return;
        }
        this.invocations.push(invocation);
        this.running++;
        setImmediate(() => void this.run(invocation));
        return;
      }
      this.invocations.push({ functionName, payload, depth: 0 });
      try {
        const result = await this.onInvoke?.(functionName, payload);
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify(result ?? null));
      } catch (error) {
        res
          .writeHead(200, {
            'content-type': 'application/json',
            'x-amz-function-error': 'Unhandled',
          })
          .end(
            JSON.stringify({
              errorMessage: (error as Error).message,
              errorType: (error as Error).name,
            }),
          );
      }
    });
    this.server = server;
    return listen(server, port, host);
  }

  public async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    await close(server);
  }

  private async run(invocation: Invocation): Promise<void> {
    const trace = traceHeader(invocation.depth);
    process.env[TRACE_ENV] = trace;
    try {
      await this.onInvoke?.(invocation.functionName, invocation.payload);
    } catch {
      // Lambda's own retries are the listener's business (see start.ts).
    } finally {
      if (process.env[TRACE_ENV] === trace) delete process.env[TRACE_ENV];
      this.running--;
    }
  }
}
