import { IngestError } from '../errors.ts';
import type { UploadRef } from '../types.ts';

/** The parts of an invocation the pipeline needs, with each task turned into an upload. */
export interface BatchInvocation {
  schemaVersion: '1.0' | '2.0';
  invocationId: string;
  jobId: string;
  userArguments: Record<string, unknown>;
  tasks: { taskId: string; upload: UploadRef }[];
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function text(from: Record<string, unknown>, field: string, where: string): string {
  const value = from[field];
  if (typeof value !== 'string' || value === '') {
    throw new IngestError(`Not an S3 Batch Operations event: ${where}.${field} is missing`);
  }
  return value;
}

/** `arn:aws:s3:::bucket` → `bucket`. Access point and Outposts ARNs are not buckets. */
function bucketFromArn(arn: string): string {
  const bucket = /^arn:[\w-]+:s3:[^:]*:[^:]*:([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])$/.exec(arn)?.[1];
  if (!bucket) throw new IngestError(`Not a bucket ARN: ${arn}`);
  return bucket;
}

/**
 * Reads an invocation of either schema version into uploads that carry the job id (so a task
 * redriven within the job is recognised, and a new job really reprocesses). Keys are taken as
 * they are: the handler's event-normalizer has already URL-decoded them. Throws on an event that
 * is not S3 Batch Operations', since there is no task id to answer with.
 */
export function parseBatchEvent(event: unknown): BatchInvocation {
  if (!isObject(event)) throw new IngestError('Not an S3 Batch Operations event: not an object');
  const schemaVersion = text(event, 'invocationSchemaVersion', 'event');
  if (schemaVersion !== '1.0' && schemaVersion !== '2.0') {
    throw new IngestError(`Unsupported invocationSchemaVersion "${schemaVersion}"`);
  }
  const invocationId = text(event, 'invocationId', 'event');
  const job = event.job;
  if (!isObject(job)) throw new IngestError('Not an S3 Batch Operations event: job is missing');
  const jobId = text(job, 'id', 'job');
  if (!Array.isArray(event.tasks) || event.tasks.length === 0) {
    throw new IngestError('Not an S3 Batch Operations event: tasks is empty');
  }

  const tasks = event.tasks.map((task: unknown, index) => {
    const where = `tasks[${index}]`;
    if (!isObject(task)) throw new IngestError(`Not an S3 Batch Operations event: ${where}`);
    const bucket =
      schemaVersion === '1.0'
        ? bucketFromArn(text(task, 's3BucketArn', where))
        : text(task, 's3Bucket', where);
    const versionId = task.s3VersionId;
    return {
      taskId: text(task, 'taskId', where),
      upload: {
        bucket,
        key: text(task, 's3Key', where),
        versionId: typeof versionId === 'string' && versionId !== '' ? versionId : undefined,
        jobId,
      },
    };
  });

  const userArguments = job.userArguments ?? {};
  if (!isObject(userArguments)) throw new IngestError('job.userArguments is not an object');
  return { schemaVersion, invocationId, jobId, userArguments, tasks };
}
