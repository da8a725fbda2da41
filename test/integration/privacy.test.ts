import type { Context } from 'aws-lambda';
import { parse } from 'csv-parse/sync';
import {
  afterAll,
  beforeAll,
  beforeEach,
  describe,
  expect,
  it,
  type MockInstance,
  vi,
} from 'vitest';
import event2 from '../../events/batch-ops-2.0.json' with { type: 'json' };
import type { BatchEvent } from '../../src/batch/types.ts';
import { encodeEventKey } from '../../src/local/LocalStack.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { useLocalStack } from '../support/harness.ts';

/*
 * Student data stays in the private rejected-rows report. Distinctive values go through the real
 * handlers against the local stand-ins; none may show up in a log line, an SNS message, a ledger
 * or idempotency record, or an S3 Batch Operations result, and every one must be in the report.
 */

const HEADER = 'student_id,first_name,last_name,course';
/** Strings that occur nowhere in the code or in a message: if one shows up, it came from a row. */
const SECRETS = ['Zyxwvutsrq', 'Qjxkvbwmpz', 'Mnbvcxzlkj', 'Pqowieuryt', 'Vbnmfghjty'] as const;

// Every line the Powertools logger writes, at every level: the level is read when the logger is
// created (and restored on each invocation), so it is set before the harness imports it.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
const harness = useLocalStack();
let batchHandler: typeof import('../../src/handlers/batchOperations.ts').handler;
let spies: MockInstance<typeof process.stdout.write>[] = [];
const logged: string[] = [];

beforeAll(async () => {
  ({ handler: batchHandler } = await import('../../src/handlers/batchOperations.ts'));
  // The logger writes INFO and DEBUG to process.stdout, WARN and ERROR to process.stderr.
  spies = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logged.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return true;
    }),
  );
});

afterAll(async () => {
  for (const spy of spies) spy.mockRestore();
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
});

beforeEach(() => {
  logged.length = 0;
});

/** Everything the ledger table holds (progress, order and Powertools idempotency records). */
async function ledgerText(): Promise<string> {
  return JSON.stringify(await harness.scan(harness.names.ledger));
}

/** Every SNS message (subject and body) published for `key`. */
function snsText(key: string): string {
  const published = harness.messagesFor(key);
  expect(published.length).toBeGreaterThan(0);
  return published.map((s) => `${s.published.subject}\n${s.published.message}`).join('\n');
}

async function reportText(key: string): Promise<string> {
  const bytes = await harness.read(harness.names.error, key.replace(/\.csv$/, '.errors.csv'));
  expect(bytes).not.toBeNull();
  return (bytes ?? Buffer.alloc(0)).toString('utf8');
}

function expectNowhere(places: Record<string, string>, secrets: readonly string[]): void {
  for (const [place, text] of Object.entries(places))
    for (const secret of secrets) expect(text, `${secret} in ${place}`).not.toContain(secret);
}

/** A Lambda context whose clock runs out at its second look: a part reads 256 rows. */
function shortClock(): Context {
  const context = lambdaContext();
  let calls = 0;
  return { ...context, getRemainingTimeInMillis: () => (calls++ < 1 ? 900_000 : 1_000) };
}

describe('Privacy: row values reach only the rejected-rows report', () => {
  it('a headerless file whose first row is invalid: the file error names its shape, not its values', async () => {
    // Prepare
    const key = 'privacy/headerless.csv';
    const body = `X1234,${SECRETS[0]},${SECRETS[1]},${SECRETS[2]} 101\nA10001,Ada,Lovelace,Maths\n`;

    // Act
    await harness.ingest(key, body);

    // Assess
    const [summary] = harness.messagesFor(key);
    expect(summary?.json.status).toBe('FAILED');
    expect(summary?.json.fileError?.code).toBe('INVALID_HEADER');
    expect(summary?.json.fileError?.message).toContain('student_id has an invalid format');
    expect(logged.join('')).toContain('INVALID_HEADER');
    expectNowhere(
      { logs: logged.join(''), sns: snsText(key), ledger: await ledgerText() },
      SECRETS.slice(0, 3),
    );
    const report = parse(await reportText(key)) as string[][];
    expect(report[1]?.[2]).toBe(`X1234,${SECRETS[0]},${SECRETS[1]},${SECRETS[2]} 101`);
  });

  it('a headerless first row that holds one column name (a course called "Course") is not quoted', async () => {
    // Prepare
    const key = 'privacy/headerless-course.csv';
    const body = `${SECRETS[0]} ${SECRETS[1]},X-${SECRETS[2]},Course,Maths\nA10001,Ada,Lovelace,Maths\n`;

    // Act
    await harness.ingest(key, body);

    // Assess
    const [summary] = harness.messagesFor(key);
    expect(summary?.json.status).toBe('FAILED');
    expect(summary?.json.fileError?.code).toBe('INVALID_HEADER');
    expectNowhere(
      { logs: logged.join(''), sns: snsText(key), ledger: await ledgerText() },
      SECRETS.slice(0, 3).map((s) => s.toLowerCase()),
    );
    const report = parse(await reportText(key)) as string[][];
    expect(report[1]?.[2]).toBe(`${SECRETS[0]} ${SECRETS[1]},X-${SECRETS[2]},Course,Maths`);
  });

  it('rejected rows (schema, field count, too long) are named by line, field and reason only', async () => {
    // Prepare
    const key = 'privacy/partial.csv';
    const body = [
      HEADER,
      `${SECRETS[0]},Ada,Lovelace,Maths`,
      `A10002,${SECRETS[1]},Lovelace`,
      `A10003,${SECRETS[2].repeat(11)},Lovelace,Maths`,
      `A10004,Grace,${SECRETS[3]},`,
      'A10005,Alan,Turing,Maths',
    ].join('\n');

    // Act
    await harness.ingest(key, `${body}\n`);

    // Assess
    const [summary] = harness.messagesFor(key);
    expect(summary?.json.status).toBe('PARTIAL');
    expect(summary?.json.errors.map((e) => [e.line, e.field])).toEqual([
      [2, 'student_id'],
      [3, ''],
      [4, 'first_name'],
      [5, 'course'],
    ]);
    expect(summary?.parts.email).toContain('line 4: first_name is too long');
    expectNowhere(
      { logs: logged.join(''), sns: snsText(key), ledger: await ledgerText() },
      SECRETS.slice(0, 3),
    );
    const report = await reportText(key);
    for (const secret of SECRETS.slice(0, 3)) expect(report).toContain(secret);
  });

  it('a long file: the checkpoint between two parts holds no value', async () => {
    // Prepare: invalid rows in the first 256, so part 0's report and checkpoint see them
    const key = 'privacy/long.csv';
    const rows = [
      HEADER,
      `${SECRETS[3]},Ada,Lovelace,Maths`,
      `A20000,${SECRETS[4].repeat(11)},Last,Maths`,
    ];
    for (let i = 1; i <= 600; i++) rows.push(`A2${String(i).padStart(4, '0')},First,Last,Course`);
    const upload = await harness.put(key, `${rows.join('\n')}\n`);
    const seen = harness.stack.lambda.invocations.length;

    // Act: part 0 stops after 256 rows and hands on
    await harness.deployed(harness.eventFor(upload), shortClock());
    const checkpoint = await ledgerText();
    const runs = await harness.runContinuations(harness.deployed, seen, lambdaContext);

    // Assess
    expect(runs).toBeGreaterThan(0);
    expect(checkpoint).toContain('"firstErrors"');
    const [summary] = harness.messagesFor(key);
    expect(summary?.json.rows.rejected).toBe(2);
    expectNowhere(
      { checkpoint, logs: logged.join(''), sns: snsText(key), ledger: await ledgerText() },
      SECRETS.slice(3),
    );
    const report = await reportText(key);
    for (const secret of SECRETS.slice(3)) expect(report).toContain(secret);
  });

  it('S3 Batch Operations: the task result (the completion report) and its logs hold no value', async () => {
    // Prepare
    const key = 'privacy/batch.csv';
    await harness.put(
      key,
      `X1234,${SECRETS[0]},${SECRETS[1]},Maths\n${HEADER}\nA10001,Ada,L,${SECRETS[2]},extra\n`,
    );
    const event = structuredClone(event2) as BatchEvent;
    event.job = { id: 'job-privacy', userArguments: { notify: 'true' } };
    event.tasks = [
      {
        taskId: 'privacy-task',
        s3Key: encodeEventKey(key),
        s3VersionId: null,
        s3Bucket: harness.names.inbound,
      },
    ];

    // Act
    const response = await batchHandler(event, lambdaContext());

    // Assess
    const [result] = response.results;
    expect(result?.resultCode).toBe('PermanentFailure');
    expect(result?.resultString).toMatch(/^FAILED INVALID_HEADER: /);
    expect(logged.join('')).toContain('Batch task failed');
    expectNowhere(
      {
        result: JSON.stringify(response),
        logs: logged.join(''),
        sns: snsText(key),
        ledger: await ledgerText(),
      },
      SECRETS.slice(0, 2),
    );
    expect(await reportText(key)).toContain(SECRETS[0]);
  });
});

describe('Injection: keys and values cannot write into the e-mail or run in a spreadsheet', () => {
  it('a key with line breaks stays on its line in the e-mail; a formula after a `;` is neutralised in the report', async () => {
    // Prepare
    const key = 'inject/roster\r\nStatus: SUCCEEDED\nEvery row was loaded.\u0007.csv';
    const body = [HEADER, "x;=cmd|' /C calc'!A0,Ada,Lovelace,Maths", 'A10001,Ada,Lovelace,Maths'];

    // Act
    await harness.ingest(key, `${body.join('\n')}\n`);

    // Assess
    const [summary] = harness.messagesFor(key);
    expect(summary?.json.status).toBe('PARTIAL');
    const email = summary?.parts.email ?? '';
    const lines = email.split('\n');
    expect(lines.filter((line) => line.startsWith('Status:'))).toEqual(['Status: PARTIAL']);
    expect(lines).not.toContain('Every row was loaded.\u0007.csv');
    for (const c of ['\r', '\u0007']) expect(email).not.toContain(c);
    expect(email).toContain(
      `File:   s3://${harness.names.inbound}/inject/roster\\r\\nStatus: SUCCEEDED\\nEvery row was loaded.\\u0007.csv`,
    );
    expect(summary?.json.source.key).toBe(key);
    const report = parse(await reportText(key)) as string[][];
    expect(report[1]?.slice(0, 3)).toEqual(['2', 'student_id', "'x;'=cmd|' /C calc'!A0"]);
    // Split at every `;` as a semicolon-locale spreadsheet does: no part starts a formula.
    const raw = await reportText(key);
    for (const part of raw.split(/[;\n]/)) expect(part).not.toMatch(/^[=+\-@]/);
  });
});
