import { FileProblem } from '../errors.ts';
import type { FileLayout } from '../types.ts';
import { COLUMNS, validateRecord } from './schema.ts';

/** For each schema column, the index of the CSV field that holds it. */
export type ColumnMapping = readonly number[];

/** How the fields of a file's records map to the schema's columns. */
export type ColumnLayout = FileLayout;

const normalise = (cell: string): string => cell.trim().toLowerCase();

const NON_BLANK = /\S/;

/** True for a record whose every field is empty or blank (`,,,,` from Excel): not a row at all. */
export function isBlankRecord(fields: readonly string[]): boolean {
  for (const field of fields) if (NON_BLANK.test(field)) return false;
  return true;
}

/** The number of fields up to the last one that is not empty or blank. */
function usedWidth(fields: readonly string[]): number {
  let width = fields.length;
  while (width > 0 && !NON_BLANK.test(fields[width - 1] ?? '')) width--;
  return width;
}

/** True when a record has the fields its layout needs, and nothing but empty fields past them. */
export function fitsLayout(fields: readonly string[], layout: ColumnLayout): boolean {
  if (fields.length < layout.needed) return false;
  return fields.length <= layout.width || usedWidth(fields) <= layout.width;
}

/** Builds a record from fields, keyed by column name. */
export function toRecord(
  fields: readonly string[],
  mapping: ColumnMapping,
): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < COLUMNS.length; i++)
    record[COLUMNS[i] as string] = fields[mapping[i] as number] ?? '';
  return record;
}

const IDENTITY: ColumnMapping = COLUMNS.map((_, index) => index);

/**
 * Decides what the first row is: a header naming the schema's columns in any order, or (in a file
 * without a header) a valid record in the schema's column order. Empty header cells and their
 * columns are ignored (Excel saves a stray column that way). Anything else rejects the file with
 * a message that says which columns were expected, missing or unknown.
 */
export function resolveHeader(fields: readonly string[], line = 1): ColumnLayout {
  const cells = fields.map(normalise);
  const known = cells.filter((cell) => COLUMNS.includes(cell));
  const expected = COLUMNS.join(',');
  if (known.length === 0) {
    const width = usedWidth(fields);
    if (width === COLUMNS.length && validateRecord(toRecord(fields, IDENTITY), line) === null) {
      return {
        kind: 'data',
        mapping: [...IDENTITY],
        width: COLUMNS.length,
        needed: COLUMNS.length,
      };
    }
    throw new FileProblem(
      'INVALID_HEADER',
      `The first row is neither the header "${expected}" nor a valid record in that column order (found "${fields.join(',').slice(0, 200)}").`,
      line,
    );
  }
  const missing = COLUMNS.filter((column) => !cells.includes(column));
  const unknown = cells.filter((cell) => cell !== '' && !COLUMNS.includes(cell));
  const repeated = known.filter((cell, index) => known.indexOf(cell) !== index);
  if (missing.length > 0 || unknown.length > 0 || repeated.length > 0) {
    const problems = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      unknown.length > 0 ? `unknown ${unknown.map((c) => `"${c}"`).join(', ')}` : '',
      repeated.length > 0 ? `repeated ${repeated.join(', ')}` : '',
    ].filter(Boolean);
    throw new FileProblem(
      'INVALID_HEADER',
      `The header must name the columns ${expected} (in any order): ${problems.join('; ')}.`,
      line,
    );
  }
  return {
    kind: 'header',
    mapping: COLUMNS.map((column) => cells.indexOf(column)),
    width: fields.length,
    needed: usedWidth(fields),
  };
}
