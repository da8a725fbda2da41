import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Config } from './config.ts';
import type { Clients } from './types.ts';

/**
 * One keep-alive connection pool per client, with enough sockets for the write window: a TLS
 * handshake per batch would cost more than the write itself.
 */
function handler(sockets: number): NodeHttpHandler {
  const options = { keepAlive: true, maxSockets: sockets };
  return new NodeHttpHandler({ httpAgent: new HttpAgent(options), httpsAgent: new Agent(options) });
}

/**
 * Creates the SDK clients once per container. Endpoints come only from the SDK's own
 * AWS_ENDPOINT_URL_<SERVICE> variables, so local stand-ins need no code path of their own.
 */
export function createClients(config: Config): Clients {
  const s3 = new S3Client({ forcePathStyle: config.forcePathStyle, requestHandler: handler(50) });
  const dynamo = new DynamoDBClient({ requestHandler: handler(8) });
  // The SDK's logger middleware copies every input through its sensitive-data filter for a log
  // line that its default no-op logger then drops: a walk of 25 items per batch, for nothing.
  dynamo.middlewareStack.remove('loggerMiddleware');
  // Ledger records carry optional fields (a versionId, a report) that may be undefined.
  const ddb = DynamoDBDocumentClient.from(dynamo, {
    marshallOptions: { removeUndefinedValues: true },
  });
  // The student table's writes get a client of their own that makes one attempt per call: the
  // BatchWriter learns the table's pace from every throttle and retries at that pace, for as long
  // as the table accepts anything. With the SDK's default 3 attempts a throttled batch was retried
  // blind inside the SDK too (up to 30 calls for one batch), hiding the push-back from the writer.
  const writes = new DynamoDBClient({
    maxAttempts: 1,
    // Resolves each command's middleware stack once per command class, not once per call: the
    // DocumentClient refuses this option, the low-level client used for writes takes it.
    cacheMiddleware: true,
    requestHandler: handler(config.writeConcurrency + 4),
  });
  writes.middlewareStack.remove('loggerMiddleware');
  // No X-Ray tracing is configured and DynamoDB needs no user agent: two fewer header builders
  // per call (measured in docs/PERFORMANCE.md, bench/sdkCallCost.ts).
  writes.middlewareStack.remove('getUserAgentMiddleware');
  writes.middlewareStack.remove('recursionDetectionMiddleware');
  const sns = new SNSClient({ requestHandler: handler(4) });
  const lambda = new LambdaClient({ requestHandler: handler(2) });
  return { s3, ddb, writes, sns, lambda };
}
