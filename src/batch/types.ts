/** One object of an invocation. Schema 1.0 names the bucket by ARN, 2.0 by name. */
export type BatchTask = {
  taskId: string;
  /** URL-encoded, as in the manifest (`+` or `%20` for a space, `%2B` for a plus). */
  s3Key: string;
  s3VersionId: string | null;
} & ({ s3BucketArn: string } | { s3Bucket: string });

/** What S3 Batch Operations sends a LambdaInvoke function (invocation schema 1.0 or 2.0). */
export interface BatchEvent {
  invocationSchemaVersion: string;
  invocationId: string;
  /** `userArguments` only with schema 2.0: the job's key-value pairs, values always strings. */
  job: { id: string; userArguments?: Record<string, string> | null };
  tasks: BatchTask[];
}

export type BatchResultCode = 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';

export interface BatchTaskResult {
  taskId: string;
  resultCode: BatchResultCode;
  /** Lands in the job's completion report; kept under 1 KB. */
  resultString: string;
}

/** What the function answers, echoing the ids it was given. */
export interface BatchResponse {
  invocationSchemaVersion: string;
  treatMissingKeysAs: BatchResultCode;
  invocationId: string;
  results: BatchTaskResult[];
}
