import { clipValue, quoteNames } from '../bounds.ts';
import { FileProblem } from '../errors.ts';
import { COLUMNS, validateRecord } from './schema.ts';

/** For each schema column, the index of the CSV field that holds it. */
export type ColumnMapping = readonly number[];

export type HeaderResolution =
  | { kind: 'header'; mapping: ColumnMapping }
  /** No header: the first row is data in the schema's column order. */
  | { kind: 'data'; mapping: ColumnMapping };

const IDENTITY: ColumnMapping = COLUMNS.map((_, index) => index);

const normalise = (cell: string): string => cell.trim().toLowerCase();

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

/**
 * Decides what the first row is: a header naming the schema's columns in any order, or (in a file
 * without a header) a valid record in the schema's column order. Anything else rejects the file
 * with a message that says which columns were expected, missing or unknown.
 */
export function resolveHeader(fields: readonly string[], line = 1): HeaderResolution {
  const cells = fields.map(normalise);
  const known = cells.filter((cell) => COLUMNS.includes(cell));
  const expected = COLUMNS.join(',');
  if (known.length === 0) {
    const errors =
      fields.length === COLUMNS.length ? validateRecord(toRecord(fields, IDENTITY), line) : null;
    if (fields.length === COLUMNS.length && errors === null) {
      return { kind: 'data', mapping: IDENTITY };
    }
    // It may be a student's record: its shape and what is wrong with it, never its values.
    const shape =
      fields.length === COLUMNS.length
        ? `${fields.length} fields`
        : `${fields.length} fields (a record has ${COLUMNS.length})`;
    const asRecord = errors ? `, and as a record ${errors.map((e) => e.error).join('; ')}` : '';
    throw new FileProblem(
      'INVALID_HEADER',
      `The first row is neither the header "${expected}" nor a valid record in that column order: it has ${shape}, none of them a column name${asRecord}.`,
      line,
      { value: clipValue(fields.join(',')) },
    );
  }
  const missing = COLUMNS.filter((column) => !cells.includes(column));
  const unknown = cells.filter((cell) => !COLUMNS.includes(cell));
  // Schema columns only, each once, however often a header repeats one.
  const repeated = COLUMNS.filter((column) => known.indexOf(column) !== known.lastIndexOf(column));
  if (missing.length > 0 || unknown.length > 0 || repeated.length > 0) {
    const problems = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      unknown.length > 0 ? `unknown ${quoteNames(unknown)}` : '',
      repeated.length > 0 ? `repeated ${repeated.join(', ')}` : '',
    ].filter(Boolean);
    throw new FileProblem(
      'INVALID_HEADER',
      `The header must name the columns ${expected} (in any order): ${problems.join('; ')}.`,
      line,
    );
  }
  return { kind: 'header', mapping: COLUMNS.map((column) => cells.indexOf(column)) };
}
