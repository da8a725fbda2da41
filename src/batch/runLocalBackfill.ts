import { randomBytes } from 'node:crypto';
import { parse } from 'csv-parse/sync';
import { sleep } from '../retry.ts';
import type { BatchEvent, BatchResponse } from './types.ts';
import type { CompletionRow } from './writeCompletionReport.ts';

export interface LocalBackfillOptions {
  /** The manifest CSV, exactly as it would be uploaded for S3 (writeManifest). */
  manifest: string;
  jobId: string;
  userArguments: Record<string, string>;
  /** Calls the batch handler, as S3 would invoke the function. */
  invoke: (event: BatchEvent) => Promise<BatchResponse>;
  /** Tasks in flight at once. */
  concurrency: number;
  /** Redrives of a TemporaryFailure before it is reported failed, like S3's own redrives. */
  retries?: number;
  retryDelayMs?: number;
  onTask?: (row: CompletionRow, done: number, total: number) => void;
}

const id = (): string => randomBytes(12).toString('base64url');

/**
 * Runs a manifest the way S3 Batch Operations runs a LambdaInvoke job, but on this machine: one
 * schema 2.0 invocation per manifest line (the key still URL-encoded, as S3 passes it), several in
 * flight, temporary failures redriven, and a completion report row per task in manifest order.
 */
export async function runLocalBackfill(options: LocalBackfillOptions): Promise<CompletionRow[]> {
  const lines = parse(options.manifest, { relax_column_count: true }) as string[][];
  const retries = options.retries ?? 2;
  const rows: CompletionRow[] = new Array(lines.length);
  let next = 0;
  let done = 0;

  const runTask = async ([
    bucket = '',
    key = '',
    versionId = '',
  ]: string[]): Promise<CompletionRow> => {
    const row = { bucket, key, versionId, httpStatusCode: 200 };
    for (let attempt = 0; ; attempt++) {
      const taskId = id();
      const event: BatchEvent = {
        invocationSchemaVersion: '2.0',
        invocationId: id(),
        job: { id: options.jobId, userArguments: { ...options.userArguments } },
        tasks: [{ taskId, s3Bucket: bucket, s3Key: key, s3VersionId: versionId || null }],
      };
      let response: BatchResponse;
      try {
        response = await options.invoke(event);
      } catch (error) {
        const e = error as Error;
        const payload = JSON.stringify({ errorType: e.name, errorMessage: e.message });
        return {
          ...row,
          taskStatus: 'failed',
          errorCode: 'PermanentFailure',
          resultMessage: `Lambda returned function error: ${payload}`,
        };
      }
      const result = response.results?.find((r) => r.taskId === taskId);
      if (!result) {
        // The function answered, but not for this task: S3 applies treatMissingKeysAs.
        const code = response.treatMissingKeysAs ?? 'PermanentFailure';
        const resultMessage = 'No result for this task in the Lambda response';
        return code === 'Succeeded'
          ? { ...row, taskStatus: 'succeeded', errorCode: '', resultMessage }
          : { ...row, taskStatus: 'failed', errorCode: code, resultMessage };
      }
      if (result.resultCode === 'Succeeded') {
        return {
          ...row,
          taskStatus: 'succeeded',
          errorCode: '',
          resultMessage: result.resultString,
        };
      }
      if (result.resultCode === 'TemporaryFailure' && attempt < retries) {
        await sleep((options.retryDelayMs ?? 1_000) * 2 ** attempt);
        continue;
      }
      return {
        ...row,
        taskStatus: 'failed',
        errorCode: result.resultCode,
        resultMessage: result.resultString,
      };
    }
  };

  const worker = async (): Promise<void> => {
    while (next < lines.length) {
      const index = next++;
      const row = await runTask(lines[index] ?? []);
      rows[index] = row;
      options.onTask?.(row, ++done, lines.length);
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency, lines.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return rows;
}
