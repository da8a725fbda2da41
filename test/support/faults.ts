import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** A seeded generator, so a fault pattern is the same on every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** An error shaped like the SDK's service exceptions (name, $fault, $metadata). */
export function serviceError(name: string, status: number, message = name): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
  });
}

type Input = { RequestItems?: Record<string, unknown[]> };

/** The write client (clients.writes) or a DocumentClient: both run BatchWriteItemCommand. */
type DynamoClient = DynamoDBClient | DynamoDBDocumentClient;
const stackOf = (client: DynamoClient) =>
  client.middlewareStack as DynamoDBDocumentClient['middlewareStack'];
type Output = { UnprocessedItems?: Record<string, unknown[]> };

export interface DynamoFaultCounts {
  calls: number;
  throttled: number;
  partial: number;
}

/**
 * Throttles a share of BatchWriteItem calls and, on another share, sends only half of the items
 * and hands the other half back as UnprocessedItems, as DynamoDB does under load. Injected as SDK
 * middleware before marshalling, so everything below it (HTTP, dynalite) is real.
 */
export function injectDynamoFaults(
  ddb: DynamoClient,
  options: { throttleRate: number; unprocessedRate: number; seed?: number; always?: boolean },
): DynamoFaultCounts {
  const random = seededRandom(options.seed ?? 42);
  const counts: DynamoFaultCounts = { calls: 0, throttled: 0, partial: 0 };
  stackOf(ddb).add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchWriteItemCommand') return next(args);
      counts.calls++;
      const roll = random();
      if (options.always || roll < options.throttleRate) {
        counts.throttled++;
        throw serviceError(
          'ProvisionedThroughputExceededException',
          400,
          'The level of configured provisioned throughput for the table was exceeded.',
        );
      }
      const input = args.input as Input;
      const [table, requests] = Object.entries(input.RequestItems ?? {})[0] ?? [];
      if (
        !table ||
        !requests ||
        requests.length < 2 ||
        roll >= options.throttleRate + options.unprocessedRate
      ) {
        return next(args);
      }
      counts.partial++;
      const half = Math.ceil(requests.length / 2);
      const result = await next({
        ...args,
        input: { ...input, RequestItems: { [table]: requests.slice(0, half) } },
      });
      const output = result.output as Output;
      output.UnprocessedItems = {
        [table]: [...(output.UnprocessedItems?.[table] ?? []), ...requests.slice(half)],
      };
      return result;
    },
    { step: 'initialize', name: 'injectDynamoFaults' },
  );
  return counts;
}

/**
 * Makes the invocation "die" after `batches` BatchWriteItem calls: every later call hangs forever,
 * as a timed-out or out-of-memory Lambda never answers. `hung` counts the calls it swallowed.
 */
export function crashAfterBatches(
  ddb: DynamoClient,
  batches: number,
): { hung: number; release: () => void } {
  let seen = 0;
  let active = true;
  const state = {
    hung: 0,
    release: () => {
      active = false;
    },
  };
  stackOf(ddb).add(
    (next, context) => async (args) => {
      if (active && context.commandName === 'BatchWriteItemCommand' && ++seen > batches) {
        state.hung++;
        return new Promise<never>(() => undefined);
      }
      return next(args);
    },
    { step: 'initialize', name: 'crashAfterBatches' },
  );
  return state;
}

/** Fails the next `times` calls of one command with a 5xx service error. */
export function failNext(
  client: S3Client | SNSClient,
  commandName: string,
  times = 1,
): { failed: number } {
  const state = { failed: 0 };
  (client.middlewareStack as DynamoDBDocumentClient['middlewareStack']).add(
    (next, context) => async (args) => {
      if (context.commandName === commandName && state.failed < times) {
        state.failed++;
        throw serviceError('InternalError', 500, `Injected ${commandName} failure`);
      }
      return next(args);
    },
    { step: 'initialize', name: `fail${commandName}` },
  );
  return state;
}

/**
 * Fails the next `times` progress-ledger writes that record `stage` (a PutItem of the ledger's
 * `progress` attribute), as a DynamoDB outage right after a step would.
 */
export function failLedgerSave(
  ddb: DynamoDBDocumentClient,
  stage: string,
  times = 1,
): { failed: number } {
  const state = { failed: 0 };
  ddb.middlewareStack.add(
    (next, context) => async (args) => {
      // The document client's input, before marshalling.
      const item = (args.input as { Item?: { progress?: { stage?: string } } }).Item;
      if (
        context.commandName === 'PutItemCommand' &&
        item?.progress?.stage === stage &&
        state.failed < times
      ) {
        state.failed++;
        throw serviceError('InternalServerError', 500, `Injected ledger failure at ${stage}`);
      }
      return next(args);
    },
    { step: 'initialize', name: `failLedgerSave${stage}` },
  );
  return state;
}
