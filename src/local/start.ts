import { resolve } from 'node:path';
import { DATASETS_FILE } from '../datasets.ts';
import { LOCAL_CREDENTIALS, LocalStack } from './LocalStack.ts';
import { lambdaContext } from './lambdaContext.ts';
import type { PublishedMessage } from './SnsStandIn.ts';

/**
 * `npm start`: the whole pipeline on this machine with nothing but Node and npm. Drop a file into
 * the inbound bucket with the AWS CLI and watch the summary arrive here.
 */
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const host = process.env.LOCAL_HOST ?? '127.0.0.1';
// As deployed: the repository's declaration (or DATASETS_FILE's), a table per dataset. With
// SCHEMA_FILE, the one-dataset setup: that schema into one table, for every key.
const datasetsFile = process.env.SCHEMA_FILE?.trim()
  ? undefined
  : process.env.DATASETS_FILE?.trim() || DATASETS_FILE;

// Async invocations are retried twice by Lambda; do the same here so a transient fault behaves alike.
const RETRIES = 2;

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<void>;
let handler: Handler | null = null;
const pending: unknown[] = [];

/** Runs the handler like an asynchronous Lambda invocation: S3 events and continuations alike. */
async function invoke(event: unknown): Promise<void> {
  if (!handler) {
    pending.push(event);
    return;
  }
  for (let attempt = 0; attempt <= RETRIES; attempt++) {
    try {
      await handler(event, lambdaContext());
      return;
    } catch (error) {
      const last = attempt === RETRIES;
      console.error(
        `✗ invocation failed${last ? ', giving up' : ', retrying'}: ${(error as Error).message}`,
      );
      if (!last) await new Promise((r) => setTimeout(r, 1_000 * (attempt + 1)));
    }
  }
}

function printSummary(message: PublishedMessage): void {
  const parts = JSON.parse(message.message) as { email: string };
  console.log(`\n━━ SNS summary ━━ ${message.subject}\n${parts.email}\n`);
}

const stack = await LocalStack.start({
  host,
  ports: {
    s3: port('LOCAL_S3_PORT', 4568),
    dynamodb: port('LOCAL_DYNAMODB_PORT', 4567),
    sns: port('LOCAL_SNS_PORT', 4575),
    lambda: port('LOCAL_LAMBDA_PORT', 4574),
  },
  onS3Event: (event) => void invoke(event),
  onInvoke: (_name, payload) => invoke(JSON.parse(payload)),
  // As deployed (serverless.yml): a long file's parts are a chain of more than 16 invocations.
  recursiveLoop: 'Allow',
  onPublish: printSummary,
  datasetsFile,
});
Object.assign(process.env, stack.env, {
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
  POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
});
({ handler } = (await import('../handlers/ingest.ts')) as { handler: Handler });
for (const event of pending.splice(0)) void invoke(event);

const sample = resolve('events/samples/students.csv');
// Each dataset's table, and the folder of the inbound bucket that loads into it.
const prefixes = stack.datasetPrefixes;
const tables = Object.entries(stack.tables)
  .map(([name, table]) => `${table} (${prefixes[name] || 'any key'})`)
  .join(', ');
const creds = `AWS_ACCESS_KEY_ID=${LOCAL_CREDENTIALS.AWS_ACCESS_KEY_ID} AWS_SECRET_ACCESS_KEY=${LOCAL_CREDENTIALS.AWS_SECRET_ACCESS_KEY} AWS_DEFAULT_REGION=us-east-1`;
console.log(`s3-csv-ingest local stack is up.

  S3 (s3rver)         ${stack.endpoints.s3}    buckets: ${stack.names.inbound}, ${stack.names.archive}, ${stack.names.error}
  DynamoDB (dynalite) ${stack.endpoints.dynamodb}    tables: ${tables || stack.names.table}, ledger: ${stack.names.ledger}
  SNS (local)         ${stack.endpoints.sns}    topic: ${stack.topicArn}
  Lambda (local)      ${stack.endpoints.lambda}    function: ${stack.names.functionName} (continuations of long files)

Drop a file into the inbound bucket (from this folder, in another shell):

  ${creds} aws --endpoint-url ${stack.endpoints.s3} s3 cp ${sample} s3://${stack.names.inbound}/

See the rows:

  ${creds} aws --endpoint-url ${stack.endpoints.dynamodb} dynamodb scan --table-name ${stack.names.table}
${
  stack.tables.courses
    ? `
A file under a dataset's folder loads into that dataset's table, beside the students (${datasetsFile}):

  ${creds} aws --endpoint-url ${stack.endpoints.s3} s3 cp ${resolve('events/samples/courses.csv')} s3://${stack.names.inbound}/courses/
  ${creds} aws --endpoint-url ${stack.endpoints.dynamodb} dynamodb scan --table-name ${stack.tables.courses}
`
    : ''
}
Summaries are printed below. Ctrl-C stops the stack (nothing is kept).
`);

const shutdown = async (): Promise<void> => {
  await stack.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());
