import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type BackfillJobRequest,
  createBackfillJob,
} from '../../../src/batch/createBackfillJob.ts';
import { InfrastructureError } from '../../../src/errors.ts';

const s3Mock = mockClient(S3Client);
const controlMock = mockClient(S3ControlClient);
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const clients = {
  s3: new S3Client({ region: 'us-east-1', credentials }),
  s3control: new S3ControlClient({ region: 'us-east-1', credentials }),
};

const TOKEN = '0b6f3f0e-4a8e-4e47-9d52-8c1b0b0e6a11';
const request: BackfillJobRequest = {
  manifest: 'inbound,fall%202024%2Froster.csv\n',
  reportBucket: 'archive-bucket',
  manifestPrefix: 'batch-manifests',
  reportPrefix: 'batch-reports/',
  functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:s3-csv-ingest-dev-batchOperations',
  roleArn: 'arn:aws:iam::111122223333:role/s3-csv-ingest-dev-BatchJobRole',
  accountId: '111122223333',
  userArguments: { move: 'false', notify: 'false', policy: 'strict' },
  priority: 10,
  description: 's3-csv-ingest backfill of s3://inbound/fall 2024/*.csv',
  token: TOKEN,
};

beforeEach(() => {
  s3Mock.reset();
  controlMock.reset();
  s3Mock.on(PutObjectCommand).resolves({ ETag: '"9b2cf535f27731c974343645a3985328"' });
  controlMock.on(CreateJobCommand).resolves({ JobId: 'job-42' });
});

afterAll(() => {
  s3Mock.restore();
  controlMock.restore();
});

describe('Function: createBackfillJob', () => {
  it('uploads the manifest next to the reports, named by the request token', async () => {
    await createBackfillJob(clients, request);

    const puts = s3Mock.commandCalls(PutObjectCommand);
    expect(puts).toHaveLength(1);
    expect(puts[0]?.args[0].input).toEqual({
      Bucket: 'archive-bucket',
      Key: `batch-manifests/${TOKEN}.csv`,
      Body: request.manifest,
      ContentType: 'text/csv; charset=utf-8',
    });
  });

  it('creates a LambdaInvoke job (schema 2.0, userArguments) with an all-tasks report and no confirmation', async () => {
    // Act
    const job = await createBackfillJob(clients, request);

    // Assess
    const calls = controlMock.commandCalls(CreateJobCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      AccountId: '111122223333',
      ConfirmationRequired: false,
      Operation: {
        LambdaInvoke: {
          FunctionArn: request.functionArn,
          InvocationSchemaVersion: '2.0',
          UserArguments: { move: 'false', notify: 'false', policy: 'strict' },
        },
      },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: {
          ObjectArn: `arn:aws:s3:::archive-bucket/batch-manifests/${TOKEN}.csv`,
          ETag: '9b2cf535f27731c974343645a3985328',
        },
      },
      Report: {
        Bucket: 'arn:aws:s3:::archive-bucket',
        Format: 'Report_CSV_20180820',
        Enabled: true,
        Prefix: 'batch-reports',
        ReportScope: 'AllTasks',
      },
      Priority: 10,
      RoleArn: request.roleArn,
      ClientRequestToken: TOKEN,
      Description: request.description,
    });
    expect(job).toEqual({
      jobId: 'job-42',
      manifest: {
        bucket: 'archive-bucket',
        key: `batch-manifests/${TOKEN}.csv`,
        eTag: '9b2cf535f27731c974343645a3985328',
      },
      report: { bucket: 'archive-bucket', key: 'batch-reports/job-job-42/' },
    });
  });

  it('makes up a fresh client request token when none is given', async () => {
    await createBackfillJob(clients, { ...request, token: undefined });
    await createBackfillJob(clients, { ...request, token: undefined });

    const tokens = controlMock
      .commandCalls(CreateJobCommand)
      .map((call) => call.args[0].input.ClientRequestToken);
    expect(tokens[0]).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    expect(tokens[1]).not.toBe(tokens[0]);
  });

  it('builds the S3 ARNs in the partition of the job role', async () => {
    await createBackfillJob(clients, {
      ...request,
      roleArn: 'arn:aws-cn:iam::111122223333:role/BatchJobRole',
    });

    const input = controlMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    expect(input?.Report?.Bucket).toBe('arn:aws-cn:s3:::archive-bucket');
    expect(input?.Manifest?.Location?.ObjectArn).toMatch(/^arn:aws-cn:s3:::archive-bucket\//);
  });

  it('does not create a job when the manifest cannot be uploaded', async () => {
    s3Mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('Access Denied'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
      }),
    );

    const attempt = createBackfillJob(clients, request);

    await expect(attempt).rejects.toThrow(InfrastructureError);
    await expect(attempt).rejects.toThrow(/Uploading the manifest .* failed: Access Denied/);
    expect(controlMock.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  it('throws an InfrastructureError naming CreateJob when S3 refuses the job', async () => {
    controlMock.on(CreateJobCommand).rejects(
      Object.assign(new Error('Request invalid'), {
        name: 'BadRequestException',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(createBackfillJob(clients, request)).rejects.toMatchObject({
      name: 'InfrastructureError',
      message: 'CreateJob failed: Request invalid',
      transient: false,
    });
  });
});
