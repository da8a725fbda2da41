import { Writable } from 'node:stream';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand, S3ControlClient } from '@aws-sdk/client-s3-control';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../../scripts/backfill.ts';

const s3Mock = mockClient(S3Client);
const controlMock = mockClient(S3ControlClient);
const ROLE = 'arn:aws:iam::111122223333:role/BatchJobRole';
const FUNCTION = 'arn:aws:lambda:us-east-1:111122223333:function:batch';
const args = [
  '--bucket',
  'inbound',
  '--report-bucket',
  'archive',
  '--role-arn',
  ROLE,
  '--function-arn',
  FUNCTION,
];

function capture(): { io: { out: Writable; err: Writable }; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const sink = (append: (text: string) => void) =>
    new Writable({
      write: (chunk, _encoding, done) => {
        append(String(chunk));
        done();
      },
    });
  return {
    io: { out: sink((t) => (out += t)), err: sink((t) => (err += t)) },
    out: () => out,
    err: () => err,
  };
}

beforeEach(() => {
  s3Mock.reset();
  controlMock.reset();
  process.env.AWS_REGION = 'us-east-1';
  process.env.AWS_ACCESS_KEY_ID = 'test';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
});

afterAll(() => {
  s3Mock.restore();
  controlMock.restore();
});

describe('Function: main (npm run backfill)', () => {
  it('lists every page, keeps the .csv keys but not the reports, and creates one job', async () => {
    // Prepare: two pages of listing
    s3Mock
      .on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: '2024/a.csv' }, { Key: '2024/' }, { Key: '2024/B.CSV' }],
        IsTruncated: true,
        NextContinuationToken: 'page-2',
      })
      .resolvesOnce({
        Contents: [
          { Key: '2024/notes.txt' },
          { Key: '2024/a.errors.csv' },
          { Key: '2024/c d.csv' },
        ],
      });
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
    controlMock.on(CreateJobCommand).resolves({ JobId: 'job-7' });
    const { io, out, err } = capture();

    // Act
    const code = await main([...args, '--prefix', '2024/', '--notify'], io);

    // Assess
    expect(code).toBe(0);
    // (The paginator reuses one input object, so only the last state of it can be checked.)
    const listings = s3Mock.commandCalls(ListObjectsV2Command);
    expect(listings).toHaveLength(2);
    expect(listings[1]?.args[0].input).toMatchObject({
      Bucket: 'inbound',
      Prefix: '2024/',
      ContinuationToken: 'page-2',
    });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input.Body).toBe(
      'inbound,2024%2Fa.csv\ninbound,2024%2FB.CSV\ninbound,2024%2Fc%20d.csv\n',
    );
    const job = controlMock.commandCalls(CreateJobCommand)[0]?.args[0].input;
    expect(job?.Operation?.LambdaInvoke?.UserArguments).toEqual({ move: 'false', notify: 'true' });
    expect(job?.AccountId).toBe('111122223333');
    expect(err()).toBe('3 objects match s3://inbound/2024/*.csv\n');
    expect(out()).toContain('Created S3 Batch Operations job job-7 for 3 objects.');
    expect(out()).toContain('Completion report: s3://archive/batch-reports/job-job-7/');
    expect(out()).toContain('aws s3control describe-job --account-id 111122223333 --job-id job-7');
  });

  it('creates no job when nothing matches', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'readme.txt' }] });
    const { io, out } = capture();

    expect(await main(args, io)).toBe(0);
    expect(out()).toBe('Nothing to do: no job created.\n');
    expect(controlMock.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  it('prints the problem and the usage, and exits 2, on a bad command line', async () => {
    const { io, err } = capture();

    expect(await main(['--bucket', 'inbound', '--policy', 'lenient'], io)).toBe(2);
    expect(err()).toMatch(
      /^--policy must be "skip" or "strict", got "lenient"\n\nUsage: npm run backfill/,
    );
    expect(s3Mock.calls()).toHaveLength(0);
  });
});
