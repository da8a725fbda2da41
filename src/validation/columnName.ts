/**
 * How a header cell and a schema's column name are compared: one function for both sides, so
 * `Contact Phone Number` in a schema matches `contact_phone_number`, `CONTACT-PHONE-NUMBER` and
 * ` Contact  Phone Number ` in a header (docs/header-matching.md).
 */

/** `_`, `-` and any run of white space (a no-break space too) count as one space. */
const SEPARATORS = /[\s_-]+/g;

/**
 * A column name as it is compared: Unicode NFC (an export's decomposed `é` is the schema's `é`),
 * lower case, `_`, `-` and runs of spaces taken as one space, trimmed. Empty for a blank cell.
 */
export function columnKey(name: string): string {
  return name.normalize('NFC').toLowerCase().replace(SEPARATORS, ' ').trim();
}

/** A schema column as far as its names go: its own and the other spellings it accepts. */
export interface NamedColumn {
  readonly name: string;
  readonly aliases?: readonly string[] | undefined;
}

const indexes = new WeakMap<readonly NamedColumn[], ReadonlyMap<string, number>>();

/**
 * Each compared name (`columnKey` of a column's name and of its aliases) → the column's index.
 * Built once per columns list: the schema checks at cold start that no two columns share a key.
 */
export function columnIndex(columns: readonly NamedColumn[]): ReadonlyMap<string, number> {
  let index = indexes.get(columns);
  if (!index) {
    const built = new Map<string, number>();
    columns.forEach((column, i) => {
      for (const name of [column.name, ...(column.aliases ?? [])]) {
        const key = columnKey(name);
        if (!built.has(key)) built.set(key, i);
      }
    });
    index = built;
    indexes.set(columns, index);
  }
  return index;
}

/** A column name or alias, in UTF-8 bytes: DynamoDB's bound on a key attribute's name. */
export const MAX_COLUMN_NAME_BYTES = 255;
/** Other spellings one column may list in `x-aliases`. */
export const MAX_ALIASES = 20;

/** What is wrong with a column's `x-aliases` (a list of at most MAX_ALIASES strings), or null. */
export function aliasesProblem(column: string, aliases: unknown): string | null {
  if (
    Array.isArray(aliases) &&
    aliases.length <= MAX_ALIASES &&
    aliases.every((alias) => typeof alias === 'string')
  ) {
    return null;
  }
  return `"x-aliases" of column ${JSON.stringify(column)} must be a list of at most ${MAX_ALIASES} strings`;
}

/**
 * What is wrong with a schema's names, or null: each name and alias must be bounded, not blank
 * once compared, and stand for one column only, so that a header cell never names two. A column
 * may not be called `__proto__`: assigning it would set a record's prototype, not a field.
 */
export function namesProblem(columns: readonly NamedColumn[]): string | null {
  const owner = new Map<string, string>();
  for (const column of columns) {
    if (column.name === '__proto__') return 'a column may not be called __proto__';
    for (const name of [column.name, ...(column.aliases ?? [])]) {
      const what =
        name === column.name
          ? `column ${JSON.stringify(name)}`
          : `alias ${JSON.stringify(name)} of column ${JSON.stringify(column.name)}`;
      if (Buffer.byteLength(name) > MAX_COLUMN_NAME_BYTES) {
        return `${what.slice(0, 100)}… is longer than ${MAX_COLUMN_NAME_BYTES} bytes`;
      }
      const key = columnKey(name);
      if (key === '') return `${what} is blank once case, spaces, _ and - are set aside`;
      const other = owner.get(key);
      if (other !== undefined && other !== column.name) {
        return `${what} and column ${JSON.stringify(other)} are the same name once case, spaces, _ and - are set aside: a header could not tell them apart`;
      }
      owner.set(key, column.name);
    }
  }
  return null;
}
