import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findOnPath } from '../support/startMoto.ts';

/*
 * What the README promises: `npm start` prints a command that, pasted into a fresh shell with no
 * AWS configuration, drops the sample file into the local inbound bucket; the summary is printed
 * and the rows are in the table. This runs the real start script and the real AWS CLI.
 */
const run = promisify(execFile);
const awsMissing = findOnPath('aws') === null;
if (awsMissing && process.env.CI !== 'true') {
  console.warn('Skipping test/e2e/npmStart.test.ts: the AWS CLI (aws) is not on PATH.');
}

let child: ChildProcess | undefined;
let output = '';
let home = '';

/** Resolves once the start script's output matches, or fails with what it printed. */
function waitFor(pattern: RegExp, timeoutMs = 60_000): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const match = output.match(pattern);
      if (match) {
        clearInterval(timer);
        resolve(match);
      } else if (Date.now() - started > timeoutMs || child?.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`npm start never printed ${pattern}; it printed:\n${output}`));
      }
    }, 100);
  });
}

/** A shell as a new user has it: PATH only, an empty home, no AWS_* variables. */
async function freshShell(command: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', command], {
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '', HOME: home },
    timeout: 60_000,
  });
  return stdout;
}

describe.skipIf(awsMissing && process.env.CI !== 'true')('npm start', () => {
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'fresh-home-'));
    // Port 0 everywhere: free ports, so this can run beside a developer's own `npm start`.
    child = spawn(process.execPath, ['--import', 'tsx', 'src/local/start.ts'], {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        LOCAL_S3_PORT: '0',
        LOCAL_DYNAMODB_PORT: '0',
        LOCAL_SNS_PORT: '0',
        LOCAL_LAMBDA_PORT: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await waitFor(/Summaries are printed below/);
  }, 90_000);

  afterAll(async () => {
    child?.kill('SIGTERM');
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('prints a copy-paste command that loads the sample file, then the summary', async () => {
    // Prepare
    const [copy] = output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* s3 cp \S+ s3:\/\/\S+$/m) ?? [];
    const [scan] =
      output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* dynamodb scan --table-name \S+$/m) ?? [];
    expect(copy).toBeDefined();
    expect(scan).toBeDefined();

    // Act: exactly what a person pastes
    await freshShell(copy ?? '');
    await waitFor(/SNS summary ━━ \[SUCCEEDED\] students\.csv \(students\): 5 rows loaded/);
    const table = JSON.parse(await freshShell(`${scan} --output json`)) as {
      Count: number;
      Items: { student_id: { S: string } }[];
    };

    // Assess
    expect(output).toMatch(/Status: SUCCEEDED\nDataset: students\nFile: {3}s3:\/\/inbound\/students\.csv/);
    expect(output).toContain('The file is now at s3://archive/students.csv');
    expect(table.Count).toBe(5);
    expect(table.Items.map((item) => item.student_id.S).sort()).toEqual([
      'A10001',
      'A10002',
      'A10003',
      'A10004',
      'A10005',
    ]);
  }, 120_000);

  it.each([
    ['excel-leftovers.csv', 3, 'E1000', []],
    ['semicolon.csv', 3, 'D1000', ['Separator: semicolon']],
  ])(
    'loads %s as a registrar would drop it, and says how it read it',
    async (name, count, idPrefix, said) => {
      // Prepare: the printed command, with another file
      const [copy] = output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* s3 cp \S+ s3:\/\/\S+$/m) ?? [];
      const [scan] =
        output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* dynamodb scan --table-name \S+$/m) ?? [];
      const command = (copy ?? '').replace(
        / s3 cp \S+ (s3:\/\/\S+)$/,
        ` s3 cp test/fixtures/${name} $1`,
      );

      // Act
      await freshShell(command);
      const summary = await waitFor(
        new RegExp(
          `SNS summary ━━ \\[SUCCEEDED\\] ${name.replace('.', '\\.')} \\(students\\): ${count} rows loaded[\\s\\S]*?Processed in`,
        ),
      );
      const table = JSON.parse(await freshShell(`${scan} --output json`)) as {
        Items: { student_id: { S: string } }[];
      };

      // Assess
      for (const line of said) expect(summary[0]).toContain(line);
      expect(summary[0]).toContain(`The file is now at s3://archive/${name}`);
      expect(
        table.Items.map((item) => item.student_id.S).filter((id) => id.startsWith(idPrefix)),
      ).toHaveLength(count);
    },
    120_000,
  );

  it('loads the courses sample under courses/ into its own table, beside the students', async () => {
    // Prepare: the two commands it prints for the second dataset
    const [copy] =
      output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* s3 cp \S+courses\.csv s3:\/\/\S+\/courses\/$/m) ??
      [];
    const [scan] =
      output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* dynamodb scan --table-name courses$/m) ?? [];
    expect(copy).toBeDefined();
    expect(scan).toBeDefined();
    expect(output).toMatch(
      /tables: students \(students\/ or any other key\), grades \(grades\/\), courses \(courses\/\)/,
    );

    // Act
    await freshShell(copy ?? '');
    const summary = await waitFor(
      /SNS summary ━━ \[SUCCEEDED\] courses\.csv \(courses\): 3 rows loaded[\s\S]*?Processed in/,
    );
    const courses = JSON.parse(await freshShell(`${scan} --output json`)) as {
      Items: { code: { S: string }; year: { N: string } }[];
    };

    // Assess: a string + number key, the year stored as a number
    expect(summary[0]).toContain('Dataset: courses');
    expect(summary[0]).toContain('The file is now at s3://archive/courses/courses.csv');
    expect(courses.Items.map((item) => `${item.code.S} ${item.year.N}`).sort()).toEqual([
      'HIST210 2026',
      'MATH101 2026',
      'MATH101 2027',
    ]);
  }, 120_000);

  it('loads a file whose name ends in .csv in any casing, as the deployed notification does', async () => {
    // Prepare
    const [copy] = output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* s3 cp \S+ s3:\/\/\S+$/m) ?? [];
    const mixedCase = (copy ?? '').replace(/s3:\/\/(\S+?)\/\S*$/, 's3://$1/Roster.Csv');

    // Act
    await freshShell(mixedCase);

    // Assess
    await waitFor(/SNS summary ━━ \[SUCCEEDED\] Roster\.Csv \(students\): 5 rows loaded/);
    expect(output).toContain('The file is now at s3://archive/Roster.Csv');
  }, 120_000);
  it('round-trips rejected rows as the README shows: aws s3 cp the rejected file, fix it, upload it back', async () => {
    // Prepare: the printed command, with the fixture of bad rows
    const [copy] = output.match(/^ {2}AWS_ACCESS_KEY_ID=\S+ .* s3 cp \S+ s3:\/\/\S+$/m) ?? [];
    const cp = (from: string, to: string) =>
      freshShell((copy ?? '').replace(/ s3 cp \S+ s3:\/\/\S+$/, ` s3 cp ${from} ${to}`));
    await cp('test/fixtures/invalid-rows.csv', 's3://inbound/invalid-rows.csv');
    const partial = await waitFor(
      /SNS summary ━━ \[PARTIAL\] invalid-rows\.csv \(students\):[\s\S]*?Fix the (\d+) rows? in (s3:\/\/\S+\.rejected\.csv) and upload it to the inbound bucket/,
    );
    const [, count, rejectedUrl] = partial;
    const local = join(home, 'invalid-rows.rejected.csv');

    // Act: download it, fix the cells as a person would (error column kept), upload it back
    await cp(rejectedUrl ?? '', local);
    const rows = parse((await readFile(local, 'utf8')).replace(/^\uFEFF/, '')) as string[][];
    const [header, ...rejected] = rows;
    const fixed = rejected.map((row) => {
      // A row the file could not split came back as its raw text in the first column.
      const cells = row[0]?.includes(',') ? (row[0] ?? '').split(',') : row.slice(0, 4);
      const [id = '', first = '', last = '', course = ''] = cells;
      return [
        id.toUpperCase(),
        first || 'Fixed',
        last || 'Fixed',
        course.length > 50 || !course ? 'Security' : course,
        row.at(-1) ?? '',
      ];
    });
    await writeFile(local, stringify([header ?? [], ...fixed]));
    await cp(local, 's3://inbound/invalid-rows-fixed.csv');

    // Assess: every fixed row loads; the error column is never loaded nor listed as not loaded
    expect(header).toEqual(['student_id', 'first_name', 'last_name', 'course', 'error']);
    expect(Number(count)).toBe(rejected.length);
    const loaded = await waitFor(
      /SNS summary ━━ \[(\w+)\] invalid-rows-fixed\.csv \(students\): (\d+) rows? loaded[\s\S]*?Processed in/,
    );
    expect(loaded[1]).toBe('SUCCEEDED');
    expect(Number(loaded[2])).toBe(rejected.length);
    expect(loaded[0]).not.toContain('Columns not loaded');
  }, 120_000);
});
