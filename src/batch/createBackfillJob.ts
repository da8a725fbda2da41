import { randomUUID } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { InfrastructureError } from '../errors.ts';
import { isTransient } from '../retry.ts';
import type { ObjectLocation } from '../types.ts';

export interface BackfillJobRequest {
  /** The manifest CSV (writeManifest). */
  manifest: string;
  /** Where the manifest is uploaded and the completion report is written. */
  reportBucket: string;
  manifestPrefix: string;
  reportPrefix: string;
  functionArn: string;
  /** The job's role: trusted by batchoperations.s3.amazonaws.com, may invoke the function. */
  roleArn: string;
  accountId: string;
  userArguments: Record<string, string>;
  priority: number;
  description: string;
  /** Idempotency token of CreateJob; also names the manifest. A fresh UUID unless given. */
  token?: string;
}

export interface BackfillJob {
  jobId: string;
  manifest: ObjectLocation & { eTag: string };
  report: ObjectLocation;
}

const fail = (action: string, error: unknown): never => {
  throw new InfrastructureError(`${action} failed: ${(error as Error).message}`, {
    cause: error,
    transient: isTransient(error),
  });
};

/** The S3 ARN of a bucket or object, in the partition the job's role lives in. */
function s3Arn(roleArn: string, path: string): string {
  const partition = /^arn:([\w-]+):/.exec(roleArn)?.[1] ?? 'aws';
  return `arn:${partition}:s3:::${path}`;
}

/**
 * Uploads the manifest and creates an S3 Batch Operations job that invokes the batch function
 * (invocation schema 2.0, with userArguments) on every object in it, with a completion report of
 * all tasks, running at once (no confirmation).
 */
export async function createBackfillJob(
  clients: { s3: S3Client; s3control: S3ControlClient },
  request: BackfillJobRequest,
): Promise<BackfillJob> {
  const token = request.token ?? randomUUID();
  const manifestKey = `${request.manifestPrefix.replace(/\/+$/, '')}/${token}.csv`;
  let eTag = '';
  try {
    const out = await clients.s3.send(
      new PutObjectCommand({
        Bucket: request.reportBucket,
        Key: manifestKey,
        Body: request.manifest,
        ContentType: 'text/csv; charset=utf-8',
      }),
    );
    eTag = (out.ETag ?? '').replace(/"/g, '');
  } catch (error) {
    fail(`Uploading the manifest to s3://${request.reportBucket}/${manifestKey}`, error);
  }

  const reportPrefix = request.reportPrefix.replace(/\/+$/, '');
  const input: CreateJobCommandInput = {
    AccountId: request.accountId,
    ConfirmationRequired: false,
    Operation: {
      LambdaInvoke: {
        FunctionArn: request.functionArn,
        InvocationSchemaVersion: '2.0',
        UserArguments: request.userArguments,
      },
    },
    Manifest: {
      Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
      Location: {
        ObjectArn: s3Arn(request.roleArn, `${request.reportBucket}/${manifestKey}`),
        ETag: eTag,
      },
    },
    Report: {
      Bucket: s3Arn(request.roleArn, request.reportBucket),
      Format: 'Report_CSV_20180820',
      Enabled: true,
      Prefix: reportPrefix,
      ReportScope: 'AllTasks',
    },
    Priority: request.priority,
    RoleArn: request.roleArn,
    ClientRequestToken: token,
    Description: request.description.slice(0, 256),
  };
  let jobId = '';
  try {
    const out = await clients.s3control.send(new CreateJobCommand(input));
    jobId = out.JobId ?? '';
  } catch (error) {
    fail('CreateJob', error);
  }
  if (!jobId) throw new InfrastructureError('CreateJob returned no job id', { transient: false });
  return {
    jobId,
    manifest: { bucket: request.reportBucket, key: manifestKey, eTag },
    // S3 writes the report under <prefix>/job-<id>/ (manifest.json and results/*.csv).
    report: { bucket: request.reportBucket, key: `${reportPrefix}/job-${jobId}/` },
  };
}
