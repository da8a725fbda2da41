import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { useLocalStack } from '../support/harness.ts';
import { rowBudget } from '../support/longFiles.ts';

/*
 * A long file that is not the plain case (extra columns, another separator, another encoding,
 * compressed) continues over several invocations exactly like one uninterrupted run: what part 0
 * decided from the first line is in the checkpoint, and the offsets are the source's bytes.
 */
const local = useLocalStack();

interface CsvShape {
  separator?: string;
  /** Accented names from this row on, so a wrong decoding shows in the table. */
  accentsFrom?: number;
}

/**
 * `rows` rows with two columns outside the schema (email, term), a quoted field holding the
 * separator and a line break every 256 rows, one row in 500 invalid.
 */
function longCsv(rows: number, tag: string, shape: CsvShape = {}): string {
  const sep = shape.separator ?? ',';
  const lines = [['email', 'last_name', 'student_id', 'course', 'term', 'first_name'].join(sep)];
  for (let i = 0; i < rows; i++) {
    const id = i % 500 === 499 ? 'bad' : `L${String(i).padStart(5, '0')}`;
    const last = i % 256 === 255 ? `"Last${sep} ""${i}""\nline two"` : `Last${i}`;
    const first = i >= (shape.accentsFrom ?? rows) ? `José ${i} “€”` : `First${i}`;
    lines.push([`p${i}@example.edu`, last, id, `${tag} C${i % 7}`, '2026-1', first].join(sep));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** Text as Windows-1252 bytes (the few glyphs the rows use outside Latin-1). */
function windows1252(text: string): Buffer {
  const c1: Record<string, number> = { '€': 0x80, '“': 0x93, '”': 0x94 };
  return Buffer.from([...text].map((char) => c1[char] ?? char.charCodeAt(0)));
}

/** The table's rows for a tag: every attribute but the tag. */
async function tableFor(tag: string): Promise<Map<string, string>> {
  const items = await local.items((item) => String(item.course).startsWith(`${tag} `));
  return new Map(
    items.map(({ course, student_id, ...rest }) => [
      `${student_id}|${String(course).slice(tag.length)}`,
      JSON.stringify(rest),
    ]),
  );
}

/** Loads `body` once in one go and once in parts; both must give the same table and summary. */
async function compare(
  name: string,
  body: (tag: string) => Buffer | string,
  { env = {}, ext = '.csv' }: { env?: Record<string, string>; ext?: string } = {},
): Promise<{ parts: number; summary: Record<string, unknown> | undefined }> {
  const handler = local.handler({ env });
  const single = await local.upload(`long/${name}-single${ext}`, body(`${name}-single`));
  const split = await local.upload(`long/${name}-split${ext}`, body(`${name}-split`));
  expect(await local.drive(handler, single, () => lambdaContext())).toBe(0);
  const parts = await local.drive(handler, split, () => rowBudget(4));
  const [one] = local.summariesFor(`long/${name}-single${ext}`);
  const [other] = local.summariesFor(`long/${name}-split${ext}`);
  expect(other).toEqual({
    ...one,
    source: expect.anything(),
    destination: expect.anything(),
    report: expect.anything(),
    // Each upload's rejected rows are a file of its own name.
    ...(one?.rejected
      ? { rejected: { ...one.rejected, key: one.rejected.key.replace('-single', '-split') } }
      : {}),
    durationMs: expect.any(Number),
    // How many calls the writes took depends on how the rows were split into parts.
    writes: expect.objectContaining({ throttled: 0, rejected: 0 }),
  });
  const [a, b] = [await tableFor(`${name}-single`), await tableFor(`${name}-split`)];
  expect(b.size).toBeGreaterThan(0);
  expect(b).toEqual(a);
  return { parts, summary: other };
}

describe('Continuation: files that are not the plain case', () => {
  it('keeps columns outside the schema out of every part, and names them once', async () => {
    // Act
    const { parts, summary } = await compare('extra', (tag) => longCsv(3_000, tag));

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { columnsNotLoaded: ['email', 'term'], columnsNotLoadedCount: 2 },
    });
    for (const row of (await tableFor('extra-split')).values()) {
      expect(Object.keys(JSON.parse(row)).sort()).toEqual(['first_name', 'last_name']);
    }
  }, 120_000);

  it('keeps the separator decided by part 0 for every later part', async () => {
    // Act
    const { parts, summary } = await compare('semicolon', (tag) =>
      longCsv(3_000, tag, { separator: ';' }),
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { separator: ';', columnsNotLoaded: ['email', 'term'] },
    });
    const rows = await tableFor('semicolon-split');
    expect(JSON.parse(rows.get('L00255| C3') ?? 'null')).toEqual({
      last_name: 'Last; "255"\nline two',
      first_name: 'First255',
    });
  }, 120_000);

  it.each([
    ['utf-16le', 'UTF-16 LE', (text: string) => Buffer.from(`\ufeff${text}`, 'utf16le')],
    ['utf-16be', 'UTF-16 BE', (text: string) => Buffer.from(`\ufeff${text}`, 'utf16le').swap16()],
  ])(
    'resumes a %s file at byte offsets of the object',
    async (name, said, encode) => {
      // Act
      const { parts, summary } = await compare(name, (tag) =>
        encode(longCsv(3_000, tag, { separator: '\t', accentsFrom: 0 })),
      );

      // Assess
      expect(parts).toBeGreaterThanOrEqual(2);
      expect(summary).toMatchObject({
        status: 'PARTIAL',
        rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
        csv: { separator: '\t', encoding: said },
      });
      const rows = await tableFor(`${name}-split`);
      expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toEqual({
        last_name: 'Last2998',
        first_name: 'José 2998 “€”',
      });
    },
    120_000,
  );

  it('under SOURCE_ENCODING=auto, falls back to Windows-1252 in a later part and says so', async () => {
    // Act: ASCII only for the first 2,000 rows (two parts), then Windows-1252 letters
    const { parts, summary } = await compare(
      'ansi',
      (tag) => windows1252(longCsv(3_000, tag, { accentsFrom: 2_000 })),
      { env: { SOURCE_ENCODING: 'auto' } },
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { encoding: 'Windows-1252' },
    });
    const rows = await tableFor('ansi-split');
    expect(JSON.parse(rows.get('L01998| C3') ?? 'null')).toMatchObject({ first_name: 'First1998' });
    expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toMatchObject({
      first_name: 'José 2998 “€”',
    });
  }, 120_000);

  it('continues a .csv.gz: each part inflates from the start and skips to its offset', async () => {
    // Act
    const { parts, summary } = await compare(
      'gzip',
      (tag) => gzipSync(longCsv(3_000, tag, { separator: ';', accentsFrom: 1_000 })),
      { ext: '.csv.gz' },
    );

    // Assess
    expect(parts).toBeGreaterThanOrEqual(2);
    expect(summary).toMatchObject({
      status: 'PARTIAL',
      rows: { total: 3_000, written: 2_994, rejected: 6, duplicates: 0 },
      csv: { separator: ';', columnsNotLoaded: ['email', 'term'] },
    });
    const rows = await tableFor('gzip-split');
    expect(JSON.parse(rows.get('L02998| C2') ?? 'null')).toMatchObject({
      first_name: 'José 2998 “€”',
    });
  }, 120_000);
});
