import { createServer, type Server } from 'node:http';
import { close, listen } from './httpServer.ts';

export type InvokeListener = (functionName: string, payload: string) => Promise<unknown> | unknown;

/**
 * The part of the Lambda API a long file needs: Invoke. An `Event` invocation is answered 202 at
 * once and run afterwards, as Lambda queues it; a `RequestResponse` one returns the result.
 */
export class LambdaStandIn {
  public readonly invocations: { functionName: string; payload: string }[] = [];
  private server: Server | null = null;

  public constructor(private readonly onInvoke?: InvokeListener) {}

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
      this.invocations.push({ functionName, payload });
      if (req.headers['x-amz-invocation-type'] === 'Event') {
        res.writeHead(202).end();
        setImmediate(
          () => void Promise.resolve(this.onInvoke?.(functionName, payload)).catch(() => undefined),
        );
        return;
      }
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
}
