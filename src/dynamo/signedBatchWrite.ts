import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  type BatchWriteItemCommandOutput,
  DynamoDBClient,
  type DynamoDBClientResolvedConfig,
  DynamoDBServiceException,
  InternalServerError,
  InvalidEndpointException,
  ItemCollectionSizeLimitExceededException,
  ProvisionedThroughputExceededException,
  ReplicatedWriteConflictException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  type ServiceInputTypes,
  type ServiceOutputTypes,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';
import { HttpRequest } from '@smithy/core/protocols';
import type {
  Handler,
  HandlerExecutionContext,
  HttpHandlerOptions,
  MiddlewareStack,
  RequestSigner,
  ResponseMetadata,
} from '@smithy/types';

/**
 * BatchWriteItem without the SDK's per-call machinery (docs/PERFORMANCE.md, "The write path, step
 * by step"): the body is `JSON.stringify` of the input, the request is signed by the client's own
 * SigV4 signer and sent through the client's own request handler, and the answer is read with
 * `JSON.parse`. What the SDK resolves per call (endpoint, signer) is resolved once per client and
 * table; what must stay fresh is read per call: credentials (the signer asks the client's memoised
 * provider on every request, which refreshes before expiry), the clock offset and the handler.
 *
 * The input must be plain JSON as DynamoDB reads it: S, N, BOOL, NULL, L, M and string sets, as
 * the BatchWriter builds them; binary values (B, BS as Uint8Array) are not encoded. UnprocessedItems
 * come back as the same plain JSON.
 */

/** What is resolved once per client and set of tables: where to send, and who signs. */
interface Target {
  protocol: string;
  hostname: string;
  port: number | undefined;
  path: string;
  headers: Record<string, string>;
  signer: RequestSigner;
}

type Config = DynamoDBClientResolvedConfig;

const targets = new WeakMap<Config, Map<string, Promise<Target>>>();

async function resolveTarget(config: Config, input: BatchWriteItemCommandInput): Promise<Target> {
  // The SDK's own endpoint resolution for this command and input (AWS_ENDPOINT_URL_DYNAMODB, the
  // regional endpoint, FIPS, dual-stack, account-based endpoints), as its endpoint middleware does.
  const endpoint = await getEndpointFromInstructions(
    input,
    BatchWriteItemCommand,
    config as Parameters<typeof getEndpointFromInstructions>[2],
  );
  const authScheme = (endpoint.properties?.authSchemes as unknown[] | undefined)?.[0];
  const signer = await (config.signer as (scheme?: unknown) => Promise<RequestSigner>)(authScheme);
  const url = endpoint.url;
  const port = url.port ? Number(url.port) : undefined;
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(endpoint.headers ?? {})) {
    headers[name.toLowerCase()] = values.join(',');
  }
  headers['content-type'] = 'application/x-amz-json-1.0';
  headers['x-amz-target'] = 'DynamoDB_20120810.BatchWriteItem';
  headers.host = url.hostname + (port === undefined ? '' : `:${port}`);
  return {
    protocol: url.protocol,
    hostname: url.hostname,
    port,
    path: url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`,
    headers,
    signer,
  };
}

/** The endpoint and signer for these tables, resolved on first use; a failure is not kept. */
function targetFor(config: Config, input: BatchWriteItemCommandInput): Promise<Target> {
  let byTables = targets.get(config);
  if (!byTables) {
    byTables = new Map();
    targets.set(config, byTables);
  }
  const key = Object.keys(input.RequestItems ?? {}).join('\0');
  let target = byTables.get(key);
  if (!target) {
    const cache = byTables;
    target = resolveTarget(config, input);
    target.catch(() => cache.delete(key));
    cache.set(key, target);
  }
  return target;
}

type Body = string | Uint8Array | NodeJS.ReadableStream | undefined | null;

/** The response body as text: the handler's stream is read directly, without a Writable collector. */
function readBody(body: Body, config: Config): Promise<string> {
  if (body === undefined || body === null) return Promise.resolve('');
  if (typeof body === 'string') return Promise.resolve(body);
  if (body instanceof Uint8Array) {
    return Promise.resolve(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString());
  }
  if (typeof (body as NodeJS.ReadableStream).on !== 'function') {
    // A web stream (a fetch handler): the client's own collector knows it.
    return config.streamCollector(body).then((bytes) => Buffer.from(bytes).toString());
  }
  const stream = body as NodeJS.ReadableStream;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer | string) => {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    });
    stream.on('end', () =>
      resolve(chunks.length === 1 ? String(chunks[0]) : Buffer.concat(chunks).toString()),
    );
    stream.on('error', reject);
  });
}

/** DynamoDB's modelled errors that BatchWriteItem can return: the SDK throws these classes. */
const MODELLED: Record<
  string,
  new (options: {
    message: string;
    $metadata: ResponseMetadata;
  }) => DynamoDBServiceException
> = {
  InternalServerError,
  InvalidEndpointException,
  ItemCollectionSizeLimitExceededException,
  ProvisionedThroughputExceededException,
  ReplicatedWriteConflictException,
  RequestLimitExceeded,
  ResourceNotFoundException,
  ThrottlingException,
} as never;

/** An error code as the SDK's JSON-RPC protocol reads it: `__type`, then `code`, then the header. */
function errorCode(data: Record<string, unknown>, headers: Record<string, string>): string {
  const raw = data.__type ?? data.code ?? data.Code ?? headers['x-amzn-errortype'];
  if (raw === undefined || raw === null) return 'Unknown';
  let code = String(raw);
  if (code.includes(',')) code = code.slice(0, code.indexOf(','));
  if (code.includes(':')) code = code.slice(0, code.indexOf(':'));
  if (code.includes('#')) code = code.slice(code.indexOf('#') + 1);
  return code;
}

/**
 * The error the SDK would throw for this answer: the modelled class when there is one (so
 * `instanceof ProvisionedThroughputExceededException`, `$fault` and `$retryable` are the SDK's),
 * a DynamoDBServiceException named after the code otherwise, with `$metadata.httpStatusCode`.
 */
export function toServiceError(
  statusCode: number,
  headers: Record<string, string>,
  text: string,
): DynamoDBServiceException {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = text ? JSON.parse(text) : {};
    if (parsed !== null && typeof parsed === 'object') data = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): the status code decides.
  }
  const name = errorCode(data, headers);
  const message = String(data.message ?? data.Message ?? 'UnknownError');
  const $metadata: ResponseMetadata = {
    httpStatusCode: statusCode,
    requestId: headers['x-amzn-requestid'],
    attempts: 1,
    totalRetryDelay: 0,
  };
  const Modelled = MODELLED[name];
  const error = Modelled
    ? new Modelled({ message, $metadata })
    : new DynamoDBServiceException({
        name,
        $fault: statusCode < 500 ? 'client' : 'server',
        $metadata,
        message,
      });
  // As the SDK does: the answer's other members (ThrottlingReasons…) on the error.
  for (const [key, value] of Object.entries(data)) {
    if (key === 'message' || key === 'Message' || value === undefined) continue;
    const record = error as unknown as Record<string, unknown>;
    if (record[key] === undefined || record[key] === '') record[key] = value;
  }
  return error;
}

/** A clock-skew answer moves the client's clock offset, as the SDK's signer does. */
function correctClock(config: Config, headers: Record<string, string>, sentAt: number): void {
  const date = headers.date;
  if (!date || headers.age !== undefined) return;
  const serverTime = Date.parse(date);
  const now = Date.now();
  if (Number.isNaN(serverTime) || now - sentAt > 900_000) return;
  config.systemClockOffset = serverTime - now;
}

/** One BatchWriteItem call: serialise, sign, send, parse. Throws the SDK's error shapes. */
export async function sendSignedBatchWrite(
  config: Config,
  input: BatchWriteItemCommandInput,
  options: HttpHandlerOptions = {},
): Promise<BatchWriteItemCommandOutput> {
  const target = await targetFor(config, input);
  const body = JSON.stringify(input);
  const request = new HttpRequest({
    protocol: target.protocol,
    hostname: target.hostname,
    port: target.port,
    method: 'POST',
    path: target.path,
    headers: { ...target.headers, 'content-length': String(Buffer.byteLength(body)) },
    body,
  });
  const sentAt = Date.now();
  const signed = await target.signer.sign(request, {
    signingDate: new Date(sentAt + (config.systemClockOffset ?? 0)),
  });
  const { response } = await config.requestHandler.handle(signed as HttpRequest, options);
  const headers = (response.headers ?? {}) as Record<string, string>;
  const text = await readBody(response.body as Body, config);
  const statusCode: number = response.statusCode;
  if (statusCode >= 200 && statusCode < 300) {
    const output = (text ? JSON.parse(text) : {}) as BatchWriteItemCommandOutput;
    output.$metadata = {
      httpStatusCode: statusCode,
      requestId: headers['x-amzn-requestid'],
      attempts: 1,
      totalRetryDelay: 0,
    };
    return output;
  }
  correctClock(config, headers, sentAt);
  throw toServiceError(statusCode, headers, text);
}

/** Every name (and alias) of the middleware in a stack, relative entries included. */
function middlewareNames(stack: MiddlewareStack<ServiceInputTypes, ServiceOutputTypes>): string[] {
  const names: string[] = [];
  const record = (_middleware: unknown, options: { name?: string; aliases?: string[] }) => {
    if (options.name) names.push(options.name);
    names.push(...(options.aliases ?? []));
  };
  // identify() leaves out relative entries whose anchor is added by commands (the auth scheme
  // middleware sits before the endpoint middleware): applyToStack hands over every entry.
  stack.applyToStack({ add: record, addRelativeTo: record } as never);
  return names;
}

/** The client-level middleware the SDK itself installs: serialising, signing, sending, retrying. */
let sdkMiddleware: string[] | null = null;
function sdkMiddlewareNames(): string[] {
  if (sdkMiddleware === null) {
    const probe = new DynamoDBClient({
      region: 'us-east-1',
      credentials: { accessKeyId: 'probe', secretAccessKey: 'probe' },
    });
    sdkMiddleware = middlewareNames(probe.middlewareStack);
    probe.destroy();
  }
  return sdkMiddleware;
}

/**
 * A BatchWriteItemCommand that the client sends through `sendSignedBatchWrite` instead of its
 * serialiser, signer, retry and deserialiser middleware. It is still a BatchWriteItemCommand
 * (aws-sdk-client-mock's `on(BatchWriteItemCommand)` matches it) and still goes through
 * `client.send`: middleware added to the client (tests' fault injection, tracing) still runs, with
 * `commandName` 'BatchWriteItemCommand', the input and the output, but no HTTP request exists in
 * its `args` at any step. One attempt per call, as the writes client is configured anyway
 * (`maxAttempts: 1`): the BatchWriter retries.
 */
export class SignedBatchWriteItemCommand extends BatchWriteItemCommand {
  public override resolveMiddleware(
    clientStack: MiddlewareStack<ServiceInputTypes, ServiceOutputTypes>,
    configuration: Config,
    options: HttpHandlerOptions | undefined,
  ): Handler<BatchWriteItemCommandInput, BatchWriteItemCommandOutput> {
    const stack = clientStack.clone();
    for (const name of sdkMiddlewareNames()) stack.remove(name);
    const context: HandlerExecutionContext = {
      logger: configuration.logger,
      clientName: 'DynamoDBClient',
      commandName: 'BatchWriteItemCommand',
    };
    const handler = stack.resolve(
      async (args) => ({
        output: await sendSignedBatchWrite(
          configuration,
          args.input as BatchWriteItemCommandInput,
          // abortSignal and requestTimeout, as the SDK hands them to its request handler.
          options ?? {},
        ),
        response: undefined,
      }),
      context,
    );
    return handler as unknown as Handler<BatchWriteItemCommandInput, BatchWriteItemCommandOutput>;
  }
}
