import { describe, expect, it } from 'vitest';
import event1 from '../../../events/batch-ops-1.0.json' with { type: 'json' };
import event2 from '../../../events/batch-ops-2.0.json' with { type: 'json' };
import { parseBatchEvent } from '../../../src/batch/parseBatchEvent.ts';
import type { BatchEvent } from '../../../src/batch/types.ts';
import { IngestError } from '../../../src/errors.ts';

const clone = <T>(value: T): T => structuredClone(value);

describe('Function: parseBatchEvent', () => {
  it('reads a schema 1.0 event: bucket from the ARN, the job id on the upload', () => {
    // Act
    const invocation = parseBatchEvent(clone(event1));

    // Assess
    expect(invocation).toEqual({
      schemaVersion: '1.0',
      invocationId: event1.invocationId,
      jobId: event1.job.id,
      userArguments: {},
      tasks: [
        {
          taskId: event1.tasks[0]?.taskId,
          upload: {
            bucket: 'inbound',
            key: event1.tasks[0]?.s3Key,
            versionId: undefined,
            jobId: event1.job.id,
          },
        },
      ],
    });
  });

  it('reads a schema 2.0 event: bucket by name, userArguments passed on', () => {
    const invocation = parseBatchEvent(clone(event2));

    expect(invocation.schemaVersion).toBe('2.0');
    expect(invocation.userArguments).toEqual({ move: 'false', notify: 'false', policy: 'skip' });
    expect(invocation.tasks[0]?.upload).toEqual({
      bucket: 'inbound',
      key: event2.tasks[0]?.s3Key,
      versionId: undefined,
      jobId: event2.job.id,
    });
  });

  it('accepts the bucket ARN as AWS documents it, with region and account', () => {
    const event = clone(event1);
    event.tasks[0] = {
      ...event1.tasks[0],
      s3BucketArn: 'arn:aws:s3:us-east-1:0123456788:awsexamplebucket1',
    } as (typeof event1.tasks)[0];

    expect(parseBatchEvent(event).tasks[0]?.upload.bucket).toBe('awsexamplebucket1');
  });

  it('keeps a version id', () => {
    const event = clone(event2) as BatchEvent;
    event.tasks = event.tasks.map((task) => ({
      ...task,
      s3VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    }));

    expect(parseBatchEvent(event).tasks[0]?.upload.versionId).toBe(
      '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
    );
  });

  it('takes keys as they are (decoding is the event-normalizer’s job, done once)', () => {
    const event = clone(event2);
    event.tasks[0] = { ...event2.tasks[0], s3Key: 'a+b%2Bc.csv' } as (typeof event2.tasks)[0];

    expect(parseBatchEvent(event).tasks[0]?.upload.key).toBe('a+b%2Bc.csv');
  });

  it.each([
    [
      'an unknown schema version',
      { ...event2, invocationSchemaVersion: '3.0' },
      /Unsupported invocationSchemaVersion "3.0"/,
    ],
    ['no tasks', { ...event2, tasks: [] }, /tasks is empty/],
    ['no job id', { ...event2, job: {} }, /job.id is missing/],
    [
      'a 2.0 task with a bucket ARN',
      { ...event2, tasks: event1.tasks },
      /tasks\[0\].s3Bucket is missing/,
    ],
    [
      'a task without a key',
      { ...event1, tasks: [{ ...event1.tasks[0], s3Key: '' }] },
      /tasks\[0\].s3Key is missing/,
    ],
    [
      'an access point ARN',
      {
        ...event1,
        tasks: [
          { ...event1.tasks[0], s3BucketArn: 'arn:aws:s3:us-east-1:111122223333:accesspoint/ap' },
        ],
      },
      /Not a bucket ARN/,
    ],
    [
      'userArguments that are not an object',
      { ...event2, job: { id: 'j', userArguments: 'move=true' } },
      /userArguments is not an object/,
    ],
    ['something else entirely', { Records: [] }, /invocationSchemaVersion is missing/],
  ])('throws on %s', (_name, event, message) => {
    expect(() => parseBatchEvent(event)).toThrow(IngestError);
    expect(() => parseBatchEvent(event)).toThrow(message);
  });
});
