import { describe, expect, it } from 'vitest';
import { parseBackfillArgs } from '../../../src/batch/parseBackfillArgs.ts';
import { ConfigError } from '../../../src/errors.ts';

const ROLE = 'arn:aws:iam::111122223333:role/BatchJobRole';
const FUNCTION = 'arn:aws:lambda:us-east-1:111122223333:function:batch';
const aws = [
  '--bucket',
  'inbound',
  '--report-bucket',
  'archive',
  '--role-arn',
  ROLE,
  '--function-arn',
  FUNCTION,
];

describe('Function: parseBackfillArgs', () => {
  it('reads a full command line, with safe defaults for the job', () => {
    expect(parseBackfillArgs([...aws, '--prefix', '2024/'], {})).toEqual({
      mode: 'aws',
      bucket: 'inbound',
      prefix: '2024/',
      suffix: '.csv',
      userArguments: { move: 'false', notify: 'false' },
      reportBucket: 'archive',
      manifestPrefix: 'batch-manifests',
      reportPrefix: 'batch-reports',
      roleArn: ROLE,
      functionArn: FUNCTION,
      accountId: '111122223333',
      priority: 10,
    });
  });

  it('passes --move, --notify and --policy on as userArguments strings', () => {
    const args = parseBackfillArgs([...aws, '--move', '--notify', '--policy', 'strict'], {});
    expect(args).toMatchObject({
      userArguments: { move: 'true', notify: 'true', policy: 'strict' },
    });
  });

  it('takes what the command line leaves out from the environment (the stack outputs)', () => {
    const args = parseBackfillArgs([], {
      INBOUND_BUCKET: 'in',
      ARCHIVE_BUCKET: 'arch',
      BATCH_JOB_ROLE_ARN: ROLE,
      BATCH_FUNCTION_ARN: FUNCTION,
      AWS_ACCOUNT_ID: '444455556666',
    });
    expect(args).toMatchObject({
      bucket: 'in',
      reportBucket: 'arch',
      roleArn: ROLE,
      functionArn: FUNCTION,
      accountId: '444455556666',
    });
    expect(
      parseBackfillArgs([], {
        INBOUND_BUCKET: 'in',
        BATCH_REPORT_BUCKET: 'r',
        ARCHIVE_BUCKET: 'a',
        BATCH_JOB_ROLE_ARN: ROLE,
        BATCH_FUNCTION_ARN: FUNCTION,
      }),
    ).toMatchObject({ reportBucket: 'r' });
  });

  it('names everything that is missing', () => {
    const act = () => parseBackfillArgs(['--prefix', 'x/'], {});
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(
      'Missing --bucket (or $INBOUND_BUCKET), --report-bucket (or $BATCH_REPORT_BUCKET / $ARCHIVE_BUCKET), --role-arn (or $BATCH_JOB_ROLE_ARN), --function-arn (or $BATCH_FUNCTION_ARN), --account-id (or $AWS_ACCOUNT_ID)',
    );
  });

  it.each([
    [['--policy', 'lenient'], '--policy must be "skip" or "strict", got "lenient"'],
    [['--priority', 'high'], '--priority must be a whole number'],
    [['--account-id', '12345'], '--account-id must be 12 digits, got "12345"'],
    [['--bukcet', 'x'], "Unknown option '--bukcet'"],
  ])('rejects %o', (extra, message) => {
    expect(() => parseBackfillArgs([...aws, ...extra], {})).toThrow(message);
  });

  it('needs only a bucket for a local run', () => {
    expect(parseBackfillArgs(['--local', '--bucket', 'inbound', '--concurrency', '8'], {})).toEqual(
      {
        mode: 'local',
        bucket: 'inbound',
        prefix: undefined,
        suffix: '.csv',
        userArguments: { move: 'false', notify: 'false' },
        concurrency: 8,
        reportDir: '.local-stack/backfill',
      },
    );
    expect(() => parseBackfillArgs(['--local', '--bucket', 'b', '--concurrency', '0'], {})).toThrow(
      '--concurrency must be at least 1',
    );
  });

  it('refuses --move on the archive bucket, the record of what was loaded', () => {
    expect(() =>
      parseBackfillArgs([...aws.slice(2), '--bucket', 'arch', '--move'], {
        ARCHIVE_BUCKET: 'arch',
      }),
    ).toThrow('--move cannot be used on the archive bucket arch: reload it without --move');
    expect(
      parseBackfillArgs([...aws.slice(2), '--bucket', 'arch'], { ARCHIVE_BUCKET: 'arch' }),
    ).toMatchObject({
      bucket: 'arch',
      userArguments: { move: 'false' },
    });
  });

  it('answers --help', () => {
    expect(parseBackfillArgs(['--help'], {})).toEqual({ mode: 'help' });
  });
});
