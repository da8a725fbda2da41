import { beforeAll, describe, expect, it } from 'vitest';
import { createClients } from '../../src/clients.ts';
import { loadConfig } from '../../src/config.ts';
import { type Clients, ingestObject } from '../../src/pipeline/ingestObject.ts';
import type { IngestResult } from '../../src/types.ts';
import { useLocalStack } from '../support/harness.ts';

const HEADER = 'student_id,first_name,last_name,course';
const local = useLocalStack();
let clients: Clients;

beforeAll(() => {
  clients = createClients(loadConfig(local.stack.env));
});

/** `rows` rows for `tag`, every `badEvery`-th one invalid (0: none). */
function csv(tag: string, rows: number, badEvery = 0): string {
  const lines = [HEADER];
  for (let i = 1; i <= rows; i++) {
    const id = badEvery > 0 && i % badEvery === 0 ? `bad${i}` : `Q${String(i).padStart(5, '0')}`;
    lines.push(`${id},First${i},Last${i},${tag} course`);
  }
  return `${lines.join('\n')}\n`;
}

async function run(key: string, body: string, env: Record<string, string>): Promise<IngestResult> {
  await local.put(key, body);
  const config = loadConfig({ ...local.stack.env, ...env });
  const outcome = await ingestObject(
    { bucket: local.names.inbound, key },
    { clients, config, remainingTimeMs: () => 900_000 },
  );
  if (outcome.kind !== 'processed') throw new Error(`not processed: ${outcome.kind}`);
  return outcome.result;
}

async function countFor(tag: string): Promise<number> {
  return (await local.items((item) => item.course === `${tag} course`)).length;
}

async function reportLines(key: string): Promise<string[]> {
  return (await local.text(local.names.error, key)).trim().split('\n');
}

describe('Policy: ERROR_POLICY=strict', () => {
  it('writes nothing and reports every bad row when one row is invalid', async () => {
    // Act
    const result = await run('strict/one-bad.csv', csv('strict-bad', 300, 150), {
      ERROR_POLICY: 'strict',
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.fileError?.code).toBe('STRICT_POLICY_VIOLATION');
    expect(result.fileError?.message).toMatch(/2 of 300 rows are invalid/);
    expect(result.rows).toEqual({ total: 300, written: 0, rejected: 2, duplicates: 0 });
    expect(await countFor('strict-bad')).toBe(0);
    const lines = await reportLines('strict/one-bad.errors.csv');
    expect(lines[0]).toBe('line,field,value,error');
    expect(lines.slice(1, 3).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '151,student_id,bad150',
      '301,student_id,bad300',
    ]);
    expect(lines[3]).toMatch(/STRICT|strict/);
  });

  it('loads every row when all are valid', async () => {
    const result = await run('strict/all-good.csv', csv('strict-good', 300), {
      ERROR_POLICY: 'strict',
    });

    expect(result.status).toBe('SUCCEEDED');
    expect(result.rows).toEqual({ total: 300, written: 300, rejected: 0, duplicates: 0 });
    expect(await countFor('strict-good')).toBe(300);
  });
});

describe('Policy: MAX_ERROR_RATE', () => {
  it('stops a file once more than the allowed share of at least 1,000 rows is rejected', async () => {
    // Every second row is bad: 50% is over a 40% limit.
    const result = await run('rate/over.csv', csv('rate-over', 3_000, 2), {
      MAX_ERROR_RATE: '0.4',
    });

    expect(result.status).toBe('FAILED');
    expect(result.fileError?.code).toBe('ERROR_RATE_EXCEEDED');
    expect(result.fileError?.message).toMatch(
      /Stopped at line 1001: 500 of 1000 rows \(50\.0%\) were rejected, more than the allowed 40%/,
    );
    expect(result.rows.total).toBe(1_000);
    expect(await countFor('rate-over')).toBe(500);
    // The rows rejected until the stop are in the rejected file, to fix and drop back.
    expect(result.rejected).toMatchObject({
      bucket: local.names.error,
      key: 'rate/over.rejected.csv',
    });
    const lines = (await local.text(local.names.error, 'rate/over.rejected.csv'))
      .replace(/^\uFEFF/, '')
      .trim()
      .split(/\r?\n/);
    expect(lines[0]).toBe(`${HEADER},error`);
    expect(lines.slice(1)).toHaveLength(500);
    expect(lines.slice(1).filter((line) => !/^bad\d+,First\d+,Last\d+,/.test(line))).toEqual([]);
    expect(lines[1]).toMatch(
      /^bad2,First2,Last2,rate-over course,"?student_id has an invalid format/,
    );
  });

  it('loads the good rows of a file under the limit', async () => {
    // Every third row is bad: 33% is under the default 50%.
    const result = await run('rate/under.csv', csv('rate-under', 3_000, 3), {});

    expect(result.status).toBe('PARTIAL');
    expect(result.rows).toEqual({ total: 3_000, written: 2_000, rejected: 1_000, duplicates: 0 });
    expect(await countFor('rate-under')).toBe(2_000);
  });

  it('does not judge the rate before 1,000 rows were read', async () => {
    // 90% bad, but only 100 rows.
    const result = await run(
      'rate/small.csv',
      csv('rate-small', 100, 1).replace(/^bad1,/m, 'Q00001,'),
      {
        MAX_ERROR_RATE: '0.5',
      },
    );

    expect(result.status).toBe('PARTIAL');
    expect(result.rows).toEqual({ total: 100, written: 1, rejected: 99, duplicates: 0 });
  });
});
