import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { UploadRef } from '../types.ts';
import type { IngestOptions } from './context.ts';

export const CONTINUATION_SOURCE = 's3-csv-ingest.continuation';

/** The event a long file hands to the next invocation; the checkpoint itself is in the ledger. */
export interface ContinuationEvent {
  source: typeof CONTINUATION_SOURCE;
  upload: UploadRef;
  part: number;
  options: IngestOptions;
}

export function isContinuationEvent(event: unknown): event is ContinuationEvent {
  return (event as Partial<ContinuationEvent> | null)?.source === CONTINUATION_SOURCE;
}

/**
 * Hands the rest of a file to a fresh invocation of this same function (asynchronous Invoke, so
 * Lambda's own retries and on-failure destination cover it too).
 */
export async function invokeContinuation(
  lambda: LambdaClient,
  functionName: string,
  event: ContinuationEvent,
): Promise<void> {
  try {
    const out = await lambda.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'Event',
        Payload: JSON.stringify(event),
      }),
    );
    if (out.StatusCode !== 202) throw new Error(`Invoke answered ${out.StatusCode}`);
  } catch (error) {
    throw new InfrastructureError(
      `Handing part ${event.part} of s3://${event.upload.bucket}/${event.upload.key} to ${functionName} failed: ${(error as Error).message}`,
      {
        cause: error,
        transient: isTransient(error),
      },
    );
  }
}
