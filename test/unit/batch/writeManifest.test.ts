import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { writeManifest } from '../../../src/batch/writeManifest.ts';

/** Keys that break naive manifests: CSV syntax, URL syntax, whitespace, non-ASCII. */
const NASTY = [
  'plain.csv',
  'with,comma.csv',
  'with "quotes".csv',
  "it's here.csv",
  'spaces  and\ttab.csv',
  'plus+sign.csv',
  'percent%20literal%2B.csv',
  '100% done.csv',
  'line\nbreak.csv',
  'crlf\r\nbreak.csv',
  'ünïcödé/日本語/📚.csv',
  'a/b/../c?x=1&y=#2.csv',
  '=cmd|calc.csv',
  ' leading and trailing .csv ',
];

/** How the function decodes a key S3 passes on (middy's event-normalizer: `+` is a space). */
const decodeLikeTheHandler = (key: string): string => decodeURIComponent(key.replace(/\+/g, ' '));

describe('Function: writeManifest', () => {
  it('writes one bucket,key line per object, no header, keys URL-encoded', () => {
    const manifest = writeManifest([
      { bucket: 'inbound', key: 'fall 2024/roster+1.csv' },
      { bucket: 'inbound', key: 'été.csv' },
    ]);

    expect(manifest).toBe('inbound,fall%202024%2Froster%2B1.csv\ninbound,%C3%A9t%C3%A9.csv\n');
  });

  it('round-trips nasty keys through a CSV parser and URL-decoding', () => {
    // Prepare
    const objects = NASTY.map((key) => ({ bucket: 'inbound', key }));

    // Act
    const manifest = writeManifest(objects);
    const rows = parse(manifest) as string[][];

    // Assess: one record per key, two fields each, and the key back exactly
    expect(rows).toHaveLength(NASTY.length);
    for (const [index, row] of rows.entries()) {
      expect(row).toHaveLength(2);
      expect(row[0]).toBe('inbound');
      expect(decodeURIComponent(row[1] ?? '')).toBe(NASTY[index]);
    }
  });

  it('decodes the same whether or not the reader takes `+` for a space', () => {
    const rows = parse(writeManifest(NASTY.map((key) => ({ bucket: 'b-1', key })))) as string[][];

    expect(rows.map((row) => decodeLikeTheHandler(row[1] ?? ''))).toEqual(NASTY);
    expect(rows.every((row) => !row[1]?.includes('+'))).toBe(true);
  });

  it('puts every record on its own physical line (encoding leaves no line break, comma or quote)', () => {
    const manifest = writeManifest(NASTY.map((key) => ({ bucket: 'inbound', key })));

    const lines = manifest.split('\n');
    expect(lines).toHaveLength(NASTY.length + 1);
    expect(lines.pop()).toBe('');
    for (const line of lines) expect(line).toMatch(/^inbound,[A-Za-z0-9%._~!*'()-]+$/);
  });

  it('quotes a field that needs it', () => {
    // Bucket names cannot hold a comma; a manifest reused for another listing might.
    expect(writeManifest([{ bucket: 'odd,name', key: 'a.csv' }])).toBe('"odd,name",a.csv\n');
  });

  it('writes nothing for no objects', () => {
    expect(writeManifest([])).toBe('');
  });
});
