import { clipValue, quoteNames } from '../bounds.ts';
import type { UnknownColumnsPolicy } from '../config.ts';
import { FileProblem } from '../errors.ts';
import { ERROR_COLUMN } from '../s3/RejectedWriter.ts';
import type { FileLayout } from '../types.ts';
import { columnIndex, columnKey } from './columnName.ts';
import { type Dataset, studentDataset } from './schema.ts';

/** For each schema column, the index of the CSV field that holds it. */
export type ColumnMapping = readonly number[];

/** How the fields of a file's records map to the schema's columns. */
export type ColumnLayout = Omit<FileLayout, 'delimiter' | 'encoding'>;

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

/** Builds a record from fields, keyed by column name (the dataset's `names`; students' if none). */
export function toRecord(
  fields: readonly string[],
  mapping: ColumnMapping,
  names: readonly string[] = studentDataset().names,
): Record<string, string> {
  const record: Record<string, string> = {};
  for (let i = 0; i < names.length; i++)
    record[names[i] as string] = fields[mapping[i] as number] ?? '';
  return record;
}

/** A header name goes into summaries: at most this many, each at most this long. */
export const MAX_NAMES = 10;
export const MAX_NAME_LENGTH = 64;

/** A header cell as it may be shown: trimmed, control characters escaped, cut to a bound. */
export function boundName(cell: string): string {
  let escaped = '';
  for (const char of cell.trim()) {
    const code = char.charCodeAt(0);
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f);
    escaped += control ? `\\u${code.toString(16).padStart(4, '0')}` : char;
    if (escaped.length > MAX_NAME_LENGTH) break;
  }
  return escaped.length > MAX_NAME_LENGTH ? `${escaped.slice(0, MAX_NAME_LENGTH - 1)}…` : escaped;
}

export interface ResolveHeaderOptions {
  /** `ignore` (default): columns outside the schema are left out and named; `reject`: the file fails. */
  unknownColumns?: UnknownColumnsPolicy;
  /** The file's separator (a comma when absent): a message says it when it is another one. */
  delimiter?: string;
  /** How a person calls that separator (`semicolon`). */
  delimiterName?: string;
  /** The schema the file is read against; the bundled student schema when absent. */
  dataset?: Dataset;
}

const identity = (dataset: Dataset): ColumnMapping => dataset.names.map((_, index) => index);

/** True when a headerless record has the schema's columns: the optional ones may trail empty. */
function fitsWidth(fields: readonly string[], dataset: Dataset): boolean {
  return usedWidth(fields) <= dataset.names.length && fields.length >= dataset.requiredWidth;
}

/** True when these fields are a valid record in the schema's column order (a file without a header). */
export function isSchemaRecord(
  fields: readonly string[],
  dataset: Dataset = studentDataset(),
): boolean {
  if (!fitsWidth(fields, dataset)) return false;
  return dataset.checkRecord(toRecord(fields, identity(dataset), dataset.names), 0).errors === null;
}

/**
 * Decides what the first row is: a header naming the schema's columns in any order, or (in a file
 * without a header) a valid record in the schema's column order. A cell names a column when it is
 * the column's name or one of its `x-aliases` once compared by `columnKey` (case, spaces, `_` and
 * `-` set aside). A row that names a column is never data: it is a header, or, when it names too
 * few and would also pass as a record, an ambiguous first row that fails the file rather than be
 * guessed at. Empty header cells and their columns are ignored (Excel saves a stray column that
 * way); other columns outside the schema are left out and named, or reject the file under
 * `unknownColumns: 'reject'`. A missing or repeated column rejects the file, naming it.
 */
export function resolveHeader(
  fields: readonly string[],
  line = 1,
  options: ResolveHeaderOptions = {},
): ColumnLayout {
  const dataset = options.dataset ?? studentDataset();
  const { names: COLUMNS, columns: COLUMN_DEFS, requiredWidth: REQUIRED_WIDTH } = dataset;
  const IDENTITY = identity(dataset);
  const names = columnIndex(COLUMN_DEFS);
  // The schema column each cell names, or -1.
  const named = fields.map((field) => names.get(columnKey(field)) ?? -1);
  const known = named.filter((column) => column >= 0);
  const expected = COLUMNS.join(',');
  const delimiter = options.delimiter ?? ',';
  // A semicolon file told about a comma header would blame its separator: say which was read.
  const readWith =
    delimiter === ',' ? '' : ` (read with ${options.delimiterName ?? delimiter} as the separator)`;
  const fits = fitsWidth(fields, dataset);
  const errors = fits
    ? dataset.checkRecord(toRecord(fields, IDENTITY, COLUMNS), line).errors
    : null;
  const passesAsRecord = fits && errors === null;
  if (known.length === 0) {
    if (passesAsRecord) {
      return {
        kind: 'data',
        mapping: [...IDENTITY],
        width: COLUMNS.length,
        needed: REQUIRED_WIDTH,
        notLoaded: [],
        notLoadedCount: 0,
      };
    }
    // It may be a student's record: its shape and what is wrong with it, never its values.
    const width = usedWidth(fields);
    const shape = fits ? `${width} fields` : `${width} fields (a record has ${COLUMNS.length})`;
    const asRecord = errors ? `, and as a record ${errors.map((e) => e.error).join('; ')}` : '';
    throw new FileProblem(
      'INVALID_HEADER',
      `The first row is neither the header "${expected}" nor a valid record in that column order: it has ${shape}${readWith}, none of them a column name${asRecord}.`,
      line,
      { value: clipValue(fields.join(delimiter)) },
    );
  }
  // An optional column may be left out of the header: its attribute is then never written.
  const missing = COLUMN_DEFS.filter((c, i) => c.required && !known.includes(i)).map((c) => c.name);
  // A rejected-rows file sent back (issue 18): its last column, `error`, is never loaded nor named.
  const sentBack =
    fields.length > 1 && named.at(-1) === -1 && columnKey(fields.at(-1) ?? '') === ERROR_COLUMN;
  const unknown = fields.filter(
    (field, i) => field.trim() !== '' && named[i] === -1 && !(sentBack && i === fields.length - 1),
  );
  const rejectUnknown = options.unknownColumns === 'reject' && unknown.length > 0;
  // Schema columns only, each once, however often a header repeats one (or its alias).
  const repeated = COLUMNS.filter((_, i) => known.indexOf(i) !== known.lastIndexOf(i));
  if (missing.length > 0 && passesAsRecord) {
    // Some cells name columns, yet the row is also a valid record (a course called "Course", or a
    // header whose other names are misspelt): loading it could write a header as a record, and
    // skipping it could lose a record. The file stops; the row is in the rejected-rows report.
    throw new FileProblem(
      'INVALID_HEADER',
      `The first row is ambiguous: ${known.length} of its ${usedWidth(fields)} cells name a column but it is missing ${missing.join(', ')}, and it is also a valid record in the column order ${expected}${readWith}. It was not loaded, as a header or as a record: start the file with a header naming the columns ${expected} (in any order), or remove the header row.`,
      line,
      { value: clipValue(fields.join(delimiter)) },
    );
  }
  if (missing.length > 0 || rejectUnknown || repeated.length > 0) {
    // A first row with more other cells than column names may be a student's record that happens
    // to hold one (a course called "Course"): its other cells are values, so they are not named.
    const mayBeRecord = missing.length > 0 && unknown.length > known.length;
    const problems = [
      missing.length > 0 ? `missing ${missing.join(', ')}` : '',
      // The file fails anyway: a misspelt column among the unknown ones is the likely cause.
      mayBeRecord
        ? `${unknown.length} other cells, not named here: the first row may be a record (it is in the rejected-rows report)`
        : unknown.length > 0
          ? `unknown ${quoteNames(unknown.map((c) => c.trim().toLowerCase()))}${rejectUnknown ? ' (UNKNOWN_COLUMNS is reject)' : ''}`
          : '',
      repeated.length > 0 ? `repeated ${repeated.join(', ')}` : '',
    ].filter(Boolean);
    throw new FileProblem(
      'INVALID_HEADER',
      `The header must name the columns ${expected} (in any order)${readWith}: ${problems.join('; ')}.`,
      line,
      mayBeRecord ? { value: clipValue(fields.join(',')) } : undefined,
    );
  }
  return {
    kind: 'header',
    mapping: COLUMNS.map((_, column) => named.indexOf(column)),
    width: fields.length,
    needed: usedWidth(fields),
    notLoaded: unknown.slice(0, MAX_NAMES).map(boundName),
    notLoadedCount: unknown.length,
    ...unnamedColumns(fields, line),
    ...(sentBack ? { sentBack, needed: Math.min(usedWidth(fields), fields.length - 1) } : {}),
  };
}

/** Runs of empty header cells a header may have: far more than any spreadsheet leaves. */
export const MAX_UNNAMED_RUNS = 1_000;

/** The runs of empty header cells, as [first, end) field indices. */
function unnamedColumns(cells: readonly string[], line: number): Pick<ColumnLayout, 'unnamed'> {
  const unnamed: [number, number][] = [];
  for (let i = 0; i < cells.length; i++) {
    if ((cells[i] ?? '').trim() !== '') continue;
    const last = unnamed[unnamed.length - 1];
    if (last && last[1] === i) last[1] = i + 1;
    else unnamed.push([i, i + 1]);
  }
  if (unnamed.length > MAX_UNNAMED_RUNS) {
    throw new FileProblem(
      'INVALID_HEADER',
      `The header has ${unnamed.length} separate groups of columns without a name; at most ${MAX_UNNAMED_RUNS} are accepted.`,
      line,
    );
  }
  return unnamed.length > 0 ? { unnamed } : {};
}

/**
 * Notes in `filled` (one column per run) the unnamed runs of `layout` that hold a value in
 * `fields`. Cheap: a file without unnamed columns costs one check per row.
 */
export function noteUnnamedValues(
  fields: readonly string[],
  layout: ColumnLayout,
  filled: Map<number, number>,
): void {
  const unnamed = layout.unnamed;
  if (!unnamed || filled.size === unnamed.length) return;
  for (let run = 0; run < unnamed.length; run++) {
    if (filled.has(run)) continue;
    const [first, end] = unnamed[run] ?? [0, 0];
    for (let i = first; i < Math.min(end, fields.length); i++) {
      if (NON_BLANK.test(fields[i] ?? '')) {
        filled.set(run, i);
        break;
      }
    }
  }
}
