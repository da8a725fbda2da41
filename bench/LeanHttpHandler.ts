import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The parts of the SDK's HttpRequest this handler reads. */
interface SdkRequest {
  protocol: string;
  hostname: string;
  port?: number | undefined;
  method: string;
  path: string;
  query?: Record<string, string | string[] | null> | undefined;
  headers: Record<string, string>;
  body?: unknown;
}

/** What the SDK's deserialisers read from a response (HttpResponse's shape). */
interface SdkResponse {
  statusCode: number;
  reason: string | undefined;
  headers: Record<string, string>;
  body: IncomingMessage;
}

export interface LeanHttpHandlerOptions {
  /** Sockets per host, kept alive between calls. */
  maxSockets: number;
  /** A call that has not answered in this long is abandoned as a TimeoutError (retryable). */
  requestTimeoutMs?: number;
}

function query(request: SdkRequest): string {
  if (!request.query) return '';
  const parts: string[] = [];
  for (const [name, value] of Object.entries(request.query)) {
    const key = encodeURIComponent(name);
    if (value === null) parts.push(key);
    else if (Array.isArray(value))
      for (const v of value) parts.push(`${key}=${encodeURIComponent(v)}`);
    else parts.push(`${key}=${encodeURIComponent(value)}`);
  }
  return parts.length > 0 ? `?${parts.join('&')}` : '';
}

/**
 * Measured, not used (bench/sdkCallCost.ts: within noise of NodeHttpHandler). A request handler for the hot write path: one keep-alive `http(s).request` per call, one
 * socket timeout, nothing else. The SDK's NodeHttpHandler arms four timers per request (socket
 * acquisition warning, connection, request, socket keep-alive) and writes the body through a
 * stream helper that handles `Expect: 100-continue`; for 25-item BatchWriteItem calls with a
 * string body that was the largest single cost left per call (see docs/PERFORMANCE.md).
 * Credentials, signing, endpoints and serialisation stay the SDK's; only the transport changes.
 */
export class LeanHttpHandler {
  public readonly metadata = { handlerProtocol: 'http/1.1' };
  private readonly http: HttpAgent;
  private readonly https: HttpsAgent;
  private readonly timeoutMs: number;

  public constructor(options: LeanHttpHandlerOptions) {
    const agent = { keepAlive: true, maxSockets: options.maxSockets };
    this.http = new HttpAgent(agent);
    this.https = new HttpsAgent(agent);
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  public handle(
    request: SdkRequest,
    options: { abortSignal?: AbortSignal | undefined } = {},
  ): Promise<{ response: SdkResponse }> {
    return new Promise((resolve, reject) => {
      const secure = request.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const hostname = request.hostname.startsWith('[')
        ? request.hostname.slice(1, -1)
        : request.hostname;
      const req = send(
        {
          agent: secure ? this.https : this.http,
          host: hostname,
          port: request.port,
          method: request.method,
          path: request.path + query(request),
          headers: request.headers,
        },
        (res) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
          }
          resolve({
            response: {
              statusCode: res.statusCode ?? -1,
              reason: res.statusMessage,
              headers,
              body: res,
            },
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => {
        req.destroy(
          Object.assign(new Error(`No answer within ${this.timeoutMs} ms`), {
            name: 'TimeoutError',
            code: 'ETIMEDOUT',
          }),
        );
      });
      req.on('error', reject);
      const signal = options.abortSignal;
      if (signal) {
        if (signal.aborted) {
          req.destroy();
          reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
          return;
        }
        signal.addEventListener(
          'abort',
          () => {
            req.destroy();
            reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
          },
          { once: true },
        );
      }
      const body = request.body;
      if (body === undefined || body === null) req.end();
      else req.end(body as string | Uint8Array);
    });
  }

  public updateHttpClientConfig(): void {
    // Nothing to configure after construction.
  }

  public httpHandlerConfigs(): Record<string, never> {
    return {};
  }

  public destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
