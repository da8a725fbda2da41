import { parse } from 'csv-parse/sync';
import { clipValue } from '../bounds.ts';
import { FileProblem } from '../errors.ts';
import { columnIndex, columnKey, type NamedColumn } from '../validation/columnName.ts';

/** The separators a file may use, in the order a tie is decided. */
export const DELIMITERS = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/** How a person calls a separator (a tab is invisible in a message). */
export function delimiterName(delimiter: string): string {
  switch (delimiter) {
    case ',':
      return 'comma';
    case ';':
      return 'semicolon';
    case '\t':
      return 'tab';
    case '|':
      return 'pipe';
    default:
      return JSON.stringify(delimiter);
  }
}

export interface DelimiterRules {
  /** The schema's columns: their names and aliases, compared as a header's cells are (columnName.ts). */
  columns: readonly NamedColumn[];
  /** Fields a headerless record needs at least (optional columns may trail); all of them if absent. */
  minColumns?: number;
  /** True when these fields are a valid record in the schema's column order (no header). */
  isRecord: (fields: string[]) => boolean;
}

/** A line that holds no data: blank, or separators and quotes only (Excel's `,,,,`). */
const EMPTY_LINE = /^[\s,;|"]*$/;

/**
 * The first record of `head` (the start of a file, decoded) split by `delimiter`, or null when it
 * does not parse. The first physical line, or as many as a quoted line break needs.
 */
function firstRecord(lines: readonly string[], delimiter: string): string[] | null {
  for (let count = 1; count <= lines.length; count++) {
    try {
      const [record] = parse(lines.slice(0, count).join('\n'), {
        delimiter,
        relax_quotes: true,
        relax_column_count: true,
        to: 1,
      }) as string[][];
      return record ?? null;
    } catch {
      // A quote that the next line may close.
    }
  }
  return null;
}

/** Fields up to the last one that holds something: Excel's empty trailing cells do not count. */
function usedWidth(fields: readonly string[]): number {
  let width = fields.length;
  while (width > 0 && (fields[width - 1] ?? '').trim() === '') width--;
  return width;
}

const plural = (count: number, word: string): string => `${count} ${word}${count === 1 ? '' : 's'}`;

/**
 * Decides a file's separator from its first line: the one under which the line names the most
 * schema columns (a header), else, for a file without a header, the one separator that splits the
 * line into exactly the schema's columns (a valid record wins a tie). When none fits, the message
 * describes the line's shape, never its content: it may be a student's row.
 */
export function detectDelimiter(head: string, rules: DelimiterRules): Delimiter {
  const lines = head.split(/\r?\n/);
  const start = lines.findIndex((line) => !EMPTY_LINE.test(line));
  if (start === -1) return ',';
  const rest = lines.slice(start);
  const split = DELIMITERS.map((delimiter) => ({
    delimiter,
    fields: firstRecord(rest, delimiter),
  }));

  const names = columnIndex(rules.columns);
  let best: { delimiter: Delimiter; named: number } | null = null;
  for (const { delimiter, fields } of split) {
    const named = new Set<number>();
    for (const field of fields ?? []) {
      const column = names.get(columnKey(field));
      if (column !== undefined) named.add(column);
    }
    if (named.size > 0 && (best === null || named.size > best.named)) {
      best = { delimiter, named: named.size };
    }
  }
  if (best) return best.delimiter;

  const least = rules.minColumns ?? rules.columns.length;
  const fitting = split.filter(
    ({ fields }) =>
      fields !== null && usedWidth(fields) <= rules.columns.length && fields.length >= least,
  );
  const valid = fitting.find(({ fields }) => fields && rules.isRecord(fields));
  // Several fit and none is valid: the first, so the header check says what is wrong with the row.
  const chosen = valid ?? fitting[0];
  if (chosen) return chosen.delimiter;

  const line = rest[0] ?? '';
  const commaFields = split[0]?.fields?.length ?? 1;
  throw new FileProblem(
    'INVALID_HEADER',
    `The first line (${plural(commaFields, 'field')}, ${plural(line.length, 'character')}) is not a header naming ${rules.columns.map((c) => c.name).join(', ')}, and does not split into ${rules.columns.length} columns with any of , ; tab |.`,
    start + 1,
    { value: clipValue(line) },
  );
}
