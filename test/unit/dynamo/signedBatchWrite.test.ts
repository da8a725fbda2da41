import { createHash, createHmac } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BatchWriteItemCommand,
  type BatchWriteItemCommandInput,
  DynamoDBClient,
  type DynamoDBClientConfig,
  ProvisionedThroughputExceededException,
  ThrottlingException,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { type HttpRequest, HttpResponse } from '@smithy/core/protocols';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  SignedBatchWriteItemCommand,
  toServiceError,
} from '../../../src/dynamo/signedBatchWrite.ts';
import { isThrottling, isTransient } from '../../../src/retry.ts';

const TABLE = 'students';
const SECRET = 'secret-key';
const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: SECRET, sessionToken: 'token' };

interface Canned {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** A real client whose request handler records each request and answers with `answer`. */
function cannedClient(
  answer: (request: HttpRequest) => Canned,
  config: DynamoDBClientConfig = {},
): { client: DynamoDBClient; requests: HttpRequest[]; options: unknown[] } {
  const requests: HttpRequest[] = [];
  const options: unknown[] = [];
  const requestHandler = {
    handle: async (request: HttpRequest, handlerOptions?: unknown) => {
      requests.push(request);
      options.push(handlerOptions);
      const { statusCode, headers = {}, body } = answer(request);
      return {
        response: new HttpResponse({
          statusCode,
          headers,
          body: Readable.from([Buffer.from(body)]),
        }),
      };
    },
    updateHttpClientConfig: () => undefined,
    httpHandlerConfigs: () => ({}),
    destroy: () => undefined,
  };
  const client = new DynamoDBClient({
    region: 'eu-west-1',
    credentials: CREDENTIALS,
    maxAttempts: 1,
    cacheMiddleware: true,
    requestHandler,
    ...config,
  });
  clients.push(client);
  return { client, requests, options };
}

const clients: DynamoDBClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.destroy();
});

const put = (id: string): WriteRequest => ({
  PutRequest: { Item: { student_id: { S: id }, course: { S: 'Maths' }, year: { N: '2' } } },
});
const input = (requests: WriteRequest[]): BatchWriteItemCommandInput => ({
  RequestItems: { [TABLE]: requests },
});
const ok = (unprocessed: WriteRequest[] = []): Canned => ({
  statusCode: 200,
  headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'req-1' },
  body: JSON.stringify({ UnprocessedItems: unprocessed.length ? { [TABLE]: unprocessed } : {} }),
});

const sha256 = (data: string) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) =>
  createHmac('sha256', key).update(data).digest();

/** SigV4 computed from the request alone, independently of the SDK's signer. */
function expectedSignature(request: HttpRequest, region: string): string {
  const header = (name: string) => String(request.headers[name] ?? '');
  const signedHeaders = /SignedHeaders=([^,]+)/.exec(header('authorization'))?.[1] ?? '';
  const names = signedHeaders.split(';');
  const amzDate = header('x-amz-date');
  const day = amzDate.slice(0, 8);
  const canonical = [
    request.method,
    request.path,
    '',
    names.map((name) => `${name}:${header(name).trim()}\n`).join(''),
    signedHeaders,
    sha256(String(request.body)),
  ].join('\n');
  const scope = `${day}/${region}/dynamodb/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  let key = hmac(`AWS4${SECRET}`, day);
  for (const part of [region, 'dynamodb', 'aws4_request']) key = hmac(key, part);
  return createHmac('sha256', key).update(toSign).digest('hex');
}

describe('Class: SignedBatchWriteItemCommand', () => {
  describe('the request', () => {
    it('is the input as JSON, POSTed with the JSON 1.0 headers to the regional endpoint, signed with SigV4', async () => {
      // Prepare
      const { client, requests } = cannedClient(() => ok());
      const sent = input([put('A00001'), put('A00002')]);

      // Act
      await client.send(new SignedBatchWriteItemCommand(sent));

      // Assess
      const request = requests[0] as HttpRequest;
      expect(request).toMatchObject({
        protocol: 'https:',
        hostname: 'dynamodb.eu-west-1.amazonaws.com',
        method: 'POST',
        path: '/',
      });
      expect(JSON.parse(String(request.body))).toEqual(sent);
      expect(request.headers).toMatchObject({
        host: 'dynamodb.eu-west-1.amazonaws.com',
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'DynamoDB_20120810.BatchWriteItem',
        'content-length': String(Buffer.byteLength(String(request.body))),
        'x-amz-security-token': 'token',
        'x-amz-date': expect.stringMatching(/^\d{8}T\d{6}Z$/),
      });
      const authorization = String(request.headers.authorization);
      expect(authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/dynamodb\/aws4_request, SignedHeaders=/,
      );
      const signed = /SignedHeaders=([^,]+)/.exec(authorization)?.[1]?.split(';');
      expect(signed).toEqual(
        expect.arrayContaining([
          'content-type',
          'host',
          'x-amz-date',
          'x-amz-security-token',
          'x-amz-target',
        ]),
      );
      expect(authorization).toContain(`Signature=${expectedSignature(request, 'eu-west-1')}`);
    });

    it('goes to the endpoint the SDK resolves from its configuration (AWS_ENDPOINT_URL_DYNAMODB, endpoint), port in the host header', async () => {
      // Prepare
      const { client, requests } = cannedClient(() => ok(), { endpoint: 'http://127.0.0.1:8000' });

      // Act
      await client.send(new SignedBatchWriteItemCommand(input([put('A00001')])));

      // Assess
      expect(requests[0]).toMatchObject({
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 8000,
        path: '/',
        headers: expect.objectContaining({ host: '127.0.0.1:8000' }),
      });
      expect(String(requests[0]?.headers.authorization)).toContain(
        `Signature=${expectedSignature(requests[0] as HttpRequest, 'eu-west-1')}`,
      );
    });

    it('asks the credentials provider on every call, so expiring credentials are refreshed as the SDK refreshes them', async () => {
      // Prepare: credentials that expire within the SDK's refresh window, and long-lived ones
      let issued = 0;
      const expiring = async () => ({
        accessKeyId: `AKID${++issued}`,
        secretAccessKey: SECRET,
        expiration: new Date(Date.now() + 60_000),
      });
      let fetched = 0;
      const lasting = async () => {
        fetched++;
        return { accessKeyId: 'LASTING', secretAccessKey: SECRET };
      };
      const short = cannedClient(() => ok(), { credentials: expiring });
      const long = cannedClient(() => ok(), { credentials: lasting });

      // Act
      for (let i = 0; i < 2; i++) {
        await short.client.send(new SignedBatchWriteItemCommand(input([put(`A${i}`)])));
        await long.client.send(new SignedBatchWriteItemCommand(input([put(`A${i}`)])));
      }

      // Assess
      const keyOf = (request: HttpRequest | undefined) =>
        /Credential=([^/]+)\//.exec(String(request?.headers.authorization))?.[1];
      // (Endpoint resolution asks the provider once too, for an account-based endpoint.)
      const keys = short.requests.map(keyOf);
      expect(keys).toEqual([expect.stringMatching(/^AKID\d$/), expect.stringMatching(/^AKID\d$/)]);
      expect(keys[1]).not.toBe(keys[0]);
      expect(long.requests.map(keyOf)).toEqual(['LASTING', 'LASTING']);
      expect(fetched).toBe(1);
    });
  });

  describe('the answer', () => {
    it('returns UnprocessedItems as the plain WriteRequests DynamoDB sent back', async () => {
      // Prepare
      const left = [put('A00002'), put('A00003')];
      const { client } = cannedClient(() => ok(left));

      // Act
      const out = await client.send(
        new SignedBatchWriteItemCommand(input([put('A00001'), ...left])),
      );

      // Assess
      expect(out.UnprocessedItems).toEqual({ [TABLE]: left });
      expect(out.$metadata).toMatchObject({ httpStatusCode: 200, requestId: 'req-1' });
    });

    it('returns no UnprocessedItems for the table when all were written', async () => {
      const { client } = cannedClient(() => ok());

      const out = await client.send(new SignedBatchWriteItemCommand(input([put('A00001')])));

      expect(out.UnprocessedItems?.[TABLE]).toBeUndefined();
    });

    const errors: [string, Canned, { name: string; transient: boolean; throttling: boolean }][] = [
      [
        'ProvisionedThroughputExceededException',
        {
          statusCode: 400,
          body: JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
            message: 'The level of configured provisioned throughput for the table was exceeded.',
          }),
        },
        { name: 'ProvisionedThroughputExceededException', transient: true, throttling: true },
      ],
      [
        'ThrottlingException',
        {
          statusCode: 400,
          body: JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
            message: 'Rate of requests exceeds the allowed throughput.',
          }),
        },
        { name: 'ThrottlingException', transient: true, throttling: true },
      ],
      [
        'RequestLimitExceeded',
        {
          statusCode: 400,
          body: JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#RequestLimitExceeded',
            Message: 'Throughput exceeds the current throughput limit for your account.',
          }),
        },
        { name: 'RequestLimitExceeded', transient: true, throttling: true },
      ],
      [
        'ValidationException',
        {
          statusCode: 400,
          body: JSON.stringify({
            __type: 'com.amazon.coral.validate#ValidationException',
            message: 'The provided key element does not match the schema',
          }),
        },
        { name: 'ValidationException', transient: false, throttling: false },
      ],
      [
        'ResourceNotFoundException',
        {
          statusCode: 400,
          body: JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
            message: 'Requested resource not found',
          }),
        },
        { name: 'ResourceNotFoundException', transient: false, throttling: false },
      ],
      [
        'a 500 InternalServerError',
        {
          statusCode: 500,
          body: JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
            message: 'Internal server error',
          }),
        },
        { name: 'InternalServerError', transient: true, throttling: false },
      ],
      [
        'a 503 named only in the x-amzn-errortype header',
        { statusCode: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailable:' }, body: '' },
        { name: 'ServiceUnavailable', transient: true, throttling: false },
      ],
    ];

    it.each(errors)(
      'throws %s as the SDK does: same name, $fault, status and retry classification',
      async (_, canned, expected) => {
        // Prepare: the same answer through the SDK's own deserialiser and through the signed path
        const { client } = cannedClient(() => canned);
        const sent = input([put('A00001')]);
        const caught = (promise: Promise<unknown>) =>
          promise.then(
            () => null,
            (error: unknown) => error,
          );

        // Act
        const ours = (await caught(client.send(new SignedBatchWriteItemCommand(sent)))) as Error;
        const sdk = (await caught(client.send(new BatchWriteItemCommand(sent)))) as Error;

        // Assess
        const shape = (error: Error) => ({
          name: error.name,
          message: error.message,
          $fault: (error as { $fault?: string }).$fault,
          status: (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
          transient: isTransient(error),
          throttling: isThrottling(error),
          constructor: error.constructor,
        });
        expect(ours).toBeInstanceOf(Error);
        expect(shape(ours)).toEqual(shape(sdk));
        expect(shape(ours)).toMatchObject({
          name: expected.name,
          transient: expected.transient,
          throttling: expected.throttling,
          status: canned.statusCode,
          $fault: canned.statusCode >= 500 ? 'server' : 'client',
        });
      },
    );

    it('throws a 500 that is not JSON as transient, as the SDK classifies its deserialisation error', async () => {
      // Prepare: a proxy's error page (the SDK throws a SyntaxError carrying $metadata)
      const { client } = cannedClient(() => ({
        statusCode: 500,
        body: '<html>Internal Server Error</html>',
      }));
      const sent = input([put('A00001')]);
      const caught = (promise: Promise<unknown>) =>
        promise.then(
          () => null,
          (error: unknown) => error,
        );

      // Act
      const ours = await caught(client.send(new SignedBatchWriteItemCommand(sent)));
      const sdk = await caught(client.send(new BatchWriteItemCommand(sent)));

      // Assess
      expect(ours).toMatchObject({
        name: 'Unknown',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      expect([isTransient(ours), isThrottling(ours)]).toEqual([
        isTransient(sdk),
        isThrottling(sdk),
      ]);
      expect(isTransient(ours)).toBe(true);
    });

    it('throws the modelled classes, so instanceof checks hold as with the SDK', () => {
      const body = (type: string) =>
        JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}` });

      expect(toServiceError(400, {}, body('ThrottlingException'))).toBeInstanceOf(
        ThrottlingException,
      );
      expect(
        toServiceError(400, {}, body('ProvisionedThroughputExceededException')),
      ).toBeInstanceOf(ProvisionedThroughputExceededException);
    });

    it('moves the client clock by the server Date of an error answer, as the SDK does for skew', async () => {
      // Prepare: a server an hour ahead
      const serverDate = new Date(Date.now() + 3_600_000).toUTCString();
      const { client } = cannedClient(() => ({
        statusCode: 400,
        headers: { date: serverDate },
        body: JSON.stringify({ __type: 'InvalidSignatureException', message: 'Signature expired' }),
      }));

      // Act
      await client.send(new SignedBatchWriteItemCommand(input([put('A00001')]))).catch(() => null);

      // Assess
      expect(client.config.systemClockOffset).toBeGreaterThan(3_590_000);
      expect(client.config.systemClockOffset).toBeLessThan(3_610_000);
    });
  });

  describe('the client around it', () => {
    it('runs middleware added to the client with the command name, the input and the output', async () => {
      // Prepare: middleware that halves the batch and hands the rest back, as the fault tests do
      const { client, requests } = cannedClient(() => ok());
      const seen: string[] = [];
      client.middlewareStack.add(
        (next, context) => async (args) => {
          seen.push(String(context.commandName));
          const { RequestItems = {} } = args.input as BatchWriteItemCommandInput;
          const all = RequestItems[TABLE] ?? [];
          const result = await next({ ...args, input: input(all.slice(0, 1)) });
          (result.output as { UnprocessedItems?: unknown }).UnprocessedItems = {
            [TABLE]: all.slice(1),
          };
          return result;
        },
        { step: 'initialize', name: 'halve' },
      );

      // Act
      const out = await client.send(
        new SignedBatchWriteItemCommand(input([put('A00001'), put('A00002')])),
      );

      // Assess
      expect(seen).toEqual(['BatchWriteItemCommand']);
      expect(JSON.parse(String(requests[0]?.body))).toEqual(input([put('A00001')]));
      expect(out.UnprocessedItems).toEqual({ [TABLE]: [put('A00002')] });
    });

    it('hands the call options (abortSignal, requestTimeout) to the request handler, as the SDK does', async () => {
      const { client, options } = cannedClient(() => ok());
      const abortSignal = new AbortController().signal;

      await client.send(new SignedBatchWriteItemCommand(input([put('A00001')])), {
        abortSignal,
        requestTimeout: 1_234,
      });

      expect(options[0]).toMatchObject({ abortSignal, requestTimeout: 1_234 });
    });

    it('is a BatchWriteItemCommand to aws-sdk-client-mock', async () => {
      // Prepare
      const client = new DynamoDBClient({ region: 'eu-west-1', credentials: CREDENTIALS });
      clients.push(client);
      const mock = mockClient(client);
      mock.on(BatchWriteItemCommand).resolves({ UnprocessedItems: { [TABLE]: [put('A00002')] } });

      // Act
      const out = await client.send(new SignedBatchWriteItemCommand(input([put('A00001')])));

      // Assess
      expect(out.UnprocessedItems).toEqual({ [TABLE]: [put('A00002')] });
      expect(mock.commandCalls(BatchWriteItemCommand)).toHaveLength(1);
      mock.restore();
    });
  });
});
