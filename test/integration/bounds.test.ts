import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * Hostile sizes: whatever a file holds, the ledger and idempotency records stay far under
 * DynamoDB's 400 KB item limit, the one summary goes out under SNS's 256 KB with a subject under
 * 100 characters, and the report keeps a cut value that says how long it was.
 */

const HEADER = 'student_id,first_name,last_name,course';
const SNS_LIMIT = 256 * 1024;

const harness = useLocalStack();

/** Every item of the ledger table, with its size as DynamoDB would roughly count it. */
async function ledgerItems(): Promise<{ json: string; bytes: number }[]> {
  return (await harness.scan(harness.names.ledger)).map((item) => {
    const json = JSON.stringify(item);
    return { json, bytes: Buffer.byteLength(json) };
  });
}

/** The one summary of `key`, checked against SNS's limits (the whole JSON message, and each part). */
function oneSummary(key: string): SummaryMessage {
  const summaries = harness.messagesFor(key);
  expect(summaries).toHaveLength(1);
  const [summary] = summaries as [SummaryMessage];
  expect(Buffer.byteLength(summary.published.message)).toBeLessThan(SNS_LIMIT);
  for (const part of Object.values(summary.parts))
    expect(Buffer.byteLength(part)).toBeLessThan(SNS_LIMIT);
  expect(summary.published.subject).toMatch(/^[\x20-\x7e]{1,99}$/);
  return summary;
}

async function report(key: string): Promise<string[][]> {
  const bytes = await harness.read(harness.names.error, key.replace(/\.csv$/, '.errors.csv'));
  expect(bytes).not.toBeNull();
  return parse(bytes ?? Buffer.alloc(0)) as string[][];
}

async function expectSmallLedger(): Promise<void> {
  const items = await ledgerItems();
  expect(items.length).toBeGreaterThan(0);
  for (const item of items) {
    expect(item.bytes).toBeLessThan(16 * 1024);
    expect(item.json).not.toMatch(/(.)\1{199}/);
  }
}

describe('Bounds: records and messages stay within AWS limits, whatever the file holds', () => {
  it('ten rows with a 60 KB student_id: one summary, small records, the values cut in the report', async () => {
    // Prepare
    const key = 'bounds/huge-ids.csv';
    const rows = Array.from(
      { length: 10 },
      (_, i) => `${String.fromCharCode(65 + i).repeat(61_440)},Ada,Lovelace,Maths`,
    );

    // Act
    await harness.ingest(key, `${[HEADER, ...rows].join('\n')}\n`);

    // Assess
    const summary = oneSummary(key);
    expect(summary.json.status).toBe('PARTIAL');
    expect(summary.json.rows).toEqual({ total: 10, written: 0, rejected: 10, duplicates: 0 });
    await expectSmallLedger();
    expect(await harness.whereIs(key)).toEqual([harness.names.error]);
    const lines = (await report(key)).slice(1);
    expect(lines).toHaveLength(10);
    for (const [, field, value] of lines) {
      expect(field).toBe('student_id');
      expect(value?.length).toBeLessThanOrEqual(1_000);
      expect(value).toMatch(/^([A-J])\1+… \[cut: 61440 characters\]$/);
    }
  });

  it('a 2 MB wrong header line fails the file as RECORD_TOO_LARGE, in a small message', async () => {
    // Prepare
    const key = 'bounds/two-megabyte-header.csv';
    const header = Array.from({ length: 200_000 }, (_, i) => `column_${i}`).join(',');
    expect(header.length).toBeGreaterThan(2_000_000);

    // Act
    await harness.ingest(key, `${header}\nA10001,Ada,Lovelace,Maths\n`);

    // Assess
    const summary = oneSummary(key);
    expect(summary.json.fileError?.code).toBe('RECORD_TOO_LARGE');
    expect(summary.json.fileError?.message.length).toBeLessThan(300);
    expect(Buffer.byteLength(summary.published.message)).toBeLessThan(16 * 1024);
    await expectSmallLedger();
  });

  it('a wide header (50 KB of names outside the schema) loads and names ten of them and how many more', async () => {
    // Prepare: as wide as a record may be (64 KiB)
    const key = 'bounds/wide-header.csv';
    const names = Array.from({ length: 6_000 }, (_, i) => `col_${i}`);
    const header = [HEADER, ...names].join(',');
    expect(header.length).toBeGreaterThan(50_000);

    // Act: the row leaves the extra columns empty
    await harness.ingest(key, `${header}\nA10001,Ada,Lovelace,Maths${','.repeat(6_000)}\n`);

    // Assess
    // The columns outside the schema are left out (UNKNOWN_COLUMNS=ignore) and named, bounded.
    const summary = oneSummary(key);
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json).toMatchObject({
      csv: { columnsNotLoaded: names.slice(0, 10), columnsNotLoadedCount: 6_000 },
    });
    expect(summary.parts.email).toContain('col_9 and 5990 more');
    expect(Buffer.byteLength(summary.published.message)).toBeLessThan(16 * 1024);
    await expectSmallLedger();
  });

  it('a very long first line (no header, a 60 KB name) is described by its shape and cut in the report', async () => {
    // Prepare
    const key = 'bounds/long-first-line.csv';
    const first = `A10001,${'N'.repeat(60_000)},Lovelace,Maths`;

    // Act
    await harness.ingest(key, `${first}\nA10002,Ada,Lovelace,Maths\n`);

    // Assess
    const summary = oneSummary(key);
    expect(summary.json.fileError?.code).toBe('INVALID_HEADER');
    expect(summary.json.fileError?.message).toContain('it has 4 fields');
    expect(summary.json.fileError?.message).toContain('first_name is too long');
    expect(summary.json.fileError?.message).not.toContain('NNN');
    await expectSmallLedger();
    const [, line] = await report(key);
    expect(line?.[2]?.length).toBeLessThanOrEqual(1_000);
    expect(line?.[2]).toMatch(/^A10001,N+… \[cut: 60022 characters\]$/);
  });
});
