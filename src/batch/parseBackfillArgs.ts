import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.ts';

export const BACKFILL_USAGE = `Usage: npm run backfill -- --bucket B [options]

Loads the .csv objects already in a bucket through the pipeline, with an S3 Batch Operations job
(or, with --local, against the local stack of \`npm start\`).

  --bucket B           bucket to read (default: $INBOUND_BUCKET)
  --prefix P           only keys starting with P
  --suffix S           only keys ending with S, any case (default: .csv); .errors.csv reports are
                       always left out
  --move               move each file to the archive/error bucket afterwards (default: leave it)
  --notify             publish a summary per file (default: none)
  --policy skip|strict error policy for the job (default: the function's ERROR_POLICY)

S3 Batch Operations (default):
  --report-bucket R    bucket for the manifest and the completion report
                       (default: $BATCH_REPORT_BUCKET, else $ARCHIVE_BUCKET)
  --manifest-prefix M  (default: batch-manifests)   --report-prefix P  (default: batch-reports)
  --role-arn A         the job role (default: $BATCH_JOB_ROLE_ARN)
  --function-arn F     the batch function (default: $BATCH_FUNCTION_ARN)
  --account-id N       (default: $AWS_ACCOUNT_ID, else the role ARN's account)
  --priority N         (default: 10)

Local (--local):
  --concurrency N      tasks in flight (default: 4)
  --report-dir D       where the manifest and completion report are written
                       (default: .local-stack/backfill)
`;

interface CommonArgs {
  bucket: string;
  prefix: string | undefined;
  suffix: string;
  /** Exactly what the job passes the function (string values, as S3 does). */
  userArguments: Record<string, string>;
}

export type BackfillArgs =
  | { mode: 'help' }
  | (CommonArgs & { mode: 'local'; concurrency: number; reportDir: string })
  | (CommonArgs & {
      mode: 'aws';
      reportBucket: string;
      manifestPrefix: string;
      reportPrefix: string;
      roleArn: string;
      functionArn: string;
      accountId: string;
      priority: number;
    });

type Env = Record<string, string | undefined>;

const OPTIONS = {
  bucket: { type: 'string' },
  prefix: { type: 'string' },
  suffix: { type: 'string' },
  move: { type: 'boolean' },
  notify: { type: 'boolean' },
  policy: { type: 'string' },
  local: { type: 'boolean' },
  concurrency: { type: 'string' },
  'report-dir': { type: 'string' },
  'report-bucket': { type: 'string' },
  'manifest-prefix': { type: 'string' },
  'report-prefix': { type: 'string' },
  'role-arn': { type: 'string' },
  'function-arn': { type: 'string' },
  'account-id': { type: 'string' },
  priority: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function integer(name: string, value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > max) {
    throw new ConfigError(`--${name} must be a whole number from 0 to ${max}, got "${value}"`);
  }
  return parsed;
}

/**
 * Reads the backfill command line, with defaults from the environment (the stack's outputs).
 * Throws a ConfigError naming every missing or malformed option, so the caller prints it with
 * the usage and exits non-zero.
 */
export function parseBackfillArgs(argv: string[], env: Env): BackfillArgs {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({
      args: argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (values.help) return { mode: 'help' };

  const policy = values.policy;
  if (policy !== undefined && policy !== 'skip' && policy !== 'strict') {
    throw new ConfigError(`--policy must be "skip" or "strict", got "${policy}"`);
  }
  const userArguments: Record<string, string> = {
    move: String(values.move ?? false),
    notify: String(values.notify ?? false),
    ...(policy ? { policy } : {}),
  };
  const bucket = values.bucket ?? env.INBOUND_BUCKET;
  const missing: string[] = [];
  if (!bucket) missing.push('--bucket (or $INBOUND_BUCKET)');
  if (values.move && bucket && bucket === env.ARCHIVE_BUCKET) {
    // A reload that rejects rows would move the file out of the archive, the record of what was
    // loaded (and the function may not delete from it).
    throw new ConfigError(
      `--move cannot be used on the archive bucket ${bucket}: reload it without --move`,
    );
  }
  const common = {
    bucket: bucket ?? '',
    prefix: values.prefix || undefined,
    suffix: values.suffix ?? '.csv',
    userArguments,
  };

  if (values.local) {
    if (missing.length > 0) throw new ConfigError(`Missing ${missing.join(', ')}`);
    const concurrency = integer('concurrency', values.concurrency, 4, 64);
    if (concurrency < 1) throw new ConfigError('--concurrency must be at least 1');
    return {
      ...common,
      mode: 'local',
      concurrency,
      reportDir: values['report-dir'] ?? '.local-stack/backfill',
    };
  }

  const reportBucket = values['report-bucket'] ?? env.BATCH_REPORT_BUCKET ?? env.ARCHIVE_BUCKET;
  const roleArn = values['role-arn'] ?? env.BATCH_JOB_ROLE_ARN;
  const functionArn = values['function-arn'] ?? env.BATCH_FUNCTION_ARN;
  const accountId =
    values['account-id'] ??
    env.AWS_ACCOUNT_ID ??
    /^arn:[\w-]+:iam::(\d{12}):/.exec(roleArn ?? '')?.[1];
  if (!reportBucket) missing.push('--report-bucket (or $BATCH_REPORT_BUCKET / $ARCHIVE_BUCKET)');
  if (!roleArn) missing.push('--role-arn (or $BATCH_JOB_ROLE_ARN)');
  if (!functionArn) missing.push('--function-arn (or $BATCH_FUNCTION_ARN)');
  if (!accountId) missing.push('--account-id (or $AWS_ACCOUNT_ID)');
  if (missing.length > 0) throw new ConfigError(`Missing ${missing.join(', ')}`);
  if (!/^\d{12}$/.test(accountId ?? '')) {
    throw new ConfigError(`--account-id must be 12 digits, got "${accountId}"`);
  }
  return {
    ...common,
    mode: 'aws',
    reportBucket: reportBucket ?? '',
    manifestPrefix: values['manifest-prefix'] ?? 'batch-manifests',
    reportPrefix: values['report-prefix'] ?? 'batch-reports',
    roleArn: roleArn ?? '',
    functionArn: functionArn ?? '',
    accountId: accountId ?? '',
    priority: integer('priority', values.priority, 10, 2_147_483_647),
  };
}
