import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import studentSchema from '../../schemas/student.schema.json' with { type: 'json' };
import { clipValue } from '../bounds.ts';
import { ConfigError } from '../errors.ts';
import type { RowError, StudentRecord } from '../types.ts';
import { aliasesProblem, namesProblem } from './columnName.ts';
import { describe, type PropertySchema } from './describeError.ts';

/** The JSON Schema types a column may have: each decides the DynamoDB type it is written as. */
export type ColumnType = 'string' | 'integer' | 'number' | 'boolean';
const COLUMN_TYPES: readonly ColumnType[] = ['string', 'integer', 'number', 'boolean'];

interface RecordSchema {
  properties: Record<string, PropertySchema>;
  required?: string[];
  'x-table-key': { partition: string; sort?: string };
}

/** One column as the pipeline uses it. */
export interface Column {
  name: string;
  type: ColumnType;
  required: boolean;
  /** Other spellings a header may use for this column (`x-aliases`). */
  aliases: readonly string[];
}

/** What checking a row's cells gives: the record to write, or why not (the errors). */
export interface CheckedRecord {
  record: StudentRecord;
  errors: RowError[] | null;
}

/**
 * A record schema compiled once, at cold start, and handed down to the pipeline as a value: a
 * deployment with several datasets holds one per schema file.
 */
export interface Dataset {
  /** The file the schema was read from: a message about the dataset names it. */
  source: string;
  schema: RecordSchema;
  /** Each column's type and whether it is required, in the schema's property order. */
  columns: readonly Column[];
  /** The column names in the order a file without a header must use: the schema's property order. */
  names: readonly string[];
  /** Fields a record without a header needs: up to the last required column (optional ones may trail). */
  requiredWidth: number;
  /** The table key, declared in the schema next to the columns it names. */
  tableKey: { partition: string; sort: string | undefined };
  validate: ValidateFunction;
  /** The record as it is written: numbers as numbers, booleans as booleans, strings as they are. */
  typedRecord(raw: Record<string, string>): StudentRecord;
  /** Null when the record is valid, else one RowError per problem (the value in the report only). */
  validateRecord(
    record: StudentRecord,
    line: number,
    raw?: Record<string, string>,
  ): RowError[] | null;
  /** Converts a row's cells to the schema's types and checks them: the record to write, or why not. */
  checkRecord(raw: Record<string, string>, line: number): CheckedRecord;
  /** A valid record's table key as one string (partition, NUL, sort): what de-duplication counts. */
  keyOf(record: StudentRecord): string;
}

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ??
  addFormatsPlugin) as (ajv: Ajv, formats: string[]) => Ajv;

/** `source` is how a message names the schema: `SCHEMA_FILE x.json`, or a declared dataset's file. */
function fail(source: string, problem: string): never {
  throw new ConfigError(`${source}: ${problem}`);
}

/**
 * Checks and compiles a record schema: an object of string, integer, number or boolean columns
 * whose `x-table-key` names required columns (a key can only be a string or a number). One Ajv
 * instance and one compile per schema, at cold start; allErrors is safe because a row is bounded
 * by csv-parse's max_record_size.
 */
export function compileDataset(raw: unknown, file: string, label = 'SCHEMA_FILE'): Dataset {
  const source = `${label} ${file}`;
  const schema = raw as Partial<RecordSchema> | null;
  const properties = schema?.properties;
  if (!properties || typeof properties !== 'object' || Object.keys(properties).length === 0) {
    fail(source, 'the schema must have "properties", one per column');
  }
  const required = new Set(schema?.required ?? []);
  const columns: Column[] = Object.entries(properties).map(([name, property]) => {
    const type = property?.type as ColumnType;
    if (!COLUMN_TYPES.includes(type)) {
      fail(source, `column ${name} must have "type" string, integer, number or boolean`);
    }
    const aliases = property?.['x-aliases'] ?? [];
    const wrong = aliasesProblem(name, aliases);
    if (wrong) fail(source, wrong);
    return { name, type, required: required.has(name), aliases: aliases as string[] };
  });
  const clash = namesProblem(columns);
  if (clash) fail(source, clash);
  const key = schema?.['x-table-key'];
  if (!key || typeof key.partition !== 'string') {
    fail(source, '"x-table-key" must name the partition key column ({"partition": "…"})');
  }
  for (const name of [key.partition, key.sort]) {
    if (name === undefined) continue;
    const column = columns.find((c) => c.name === name);
    if (!column?.required || column.type === 'boolean') {
      fail(source, `the key column ${name} must be a required string, integer or number column`);
    }
  }
  const ajv = new Ajv({ allErrors: true, strict: true, keywords: ['x-table-key', 'x-aliases'] });
  addFormats(ajv, ['date', 'date-time', 'time', 'email', 'uri', 'uuid']);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema as object);
  } catch (error) {
    fail(source, (error as Error).message);
  }
  const columnList = Object.freeze(columns);
  const tableKey = Object.freeze({ partition: key.partition, sort: key.sort });
  const checks = recordChecks(schema as RecordSchema, columnList, tableKey, validate);
  return {
    source: file,
    schema: schema as RecordSchema,
    columns: columnList,
    names: Object.freeze(columns.map((c) => c.name)),
    requiredWidth: columns.findLastIndex((c) => c.required) + 1,
    tableKey,
    validate,
    ...checks,
  };
}

/**
 * Reads a schema file (relative to the working directory, the package root on Lambda); none is
 * the bundled student schema. `label` says where the name came from, for the message.
 */
export function loadDataset(file: string | undefined, label = 'SCHEMA_FILE'): Dataset {
  if (!file) return compileDataset(studentSchema, 'schemas/student.schema.json', label);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (error) {
    fail(`${label} ${file}`, `cannot be read as JSON (${(error as Error).message})`);
  }
  return compileDataset(raw, file, label);
}

let builtIn: Dataset | undefined;

/** The bundled student schema, compiled on first use: the dataset when none is named. */
export function studentDataset(): Dataset {
  builtIn ??= loadDataset(undefined);
  return builtIn;
}

const INTEGER = /^[+-]?\d+$/;
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A cell as its column's type, or the cell itself when it is not one (ajv then says why). */
function convert(cell: string, type: ColumnType): string | number | boolean {
  const text = cell.trim();
  switch (type) {
    case 'integer':
      return INTEGER.test(text) ? Number(text) : cell;
    case 'number':
      return NUMBER.test(text) ? Number(text) : cell;
    case 'boolean': {
      const lower = text.toLowerCase();
      return lower === 'true' ? true : lower === 'false' ? false : cell;
    }
    default:
      return cell;
  }
}

/** DynamoDB refuses a number closer to 0 than this ("Number underflow"). */
const MIN_DYNAMODB_NUMBER = 1e-130;

/**
 * What a schema may let through but DynamoDB or its SDK would refuse, failing the whole batch (and
 * the file, as an infrastructure problem: lib-dynamodb's error even quotes the value): a number
 * beyond ±2^53 − 1 or closer to 0 than 1e-130, a key that is empty or too long. Such a cell is its
 * row's problem.
 */
function storableErrors(
  record: StudentRecord,
  line: number,
  raw: Record<string, string>,
  flagged: RowError[] | null,
  numeric: readonly Column[],
  keyBytes: readonly (readonly [string, number])[],
): RowError[] {
  const errors: RowError[] = [];
  const add = (field: string, reason: string): void => {
    if (flagged?.some((e) => e.field === field) || errors.some((e) => e.field === field)) return;
    errors.push({
      line,
      field,
      value: clipValue(raw[field] ?? ''),
      error: `${field} ${reason}`,
      code: 'SCHEMA',
    });
  };
  for (const { name } of numeric) {
    const value = record[name];
    if (typeof value !== 'number') continue;
    const size = Math.abs(value);
    if (!(size <= Number.MAX_SAFE_INTEGER)) {
      add(name, `is too large to store exactly (the limit is ±${Number.MAX_SAFE_INTEGER})`);
    } else if (size !== 0 && size < MIN_DYNAMODB_NUMBER) {
      add(name, `is too close to 0 to store (DynamoDB's smallest is ${MIN_DYNAMODB_NUMBER})`);
    }
  }
  for (const [name, limit] of keyBytes) {
    const value = record[name];
    if (typeof value !== 'string') continue;
    if (value === '') add(name, 'is empty (it is part of the table key)');
    // A UTF-16 unit is at most 3 bytes of UTF-8: most keys are judged without counting.
    else if (value.length * 3 > limit && Buffer.byteLength(value) > limit) {
      add(name, `is too long for the table key (at most ${limit} bytes)`);
    }
  }
  return errors;
}

/** The row checks of one compiled schema, each closing over what it needs of it. */
function recordChecks(
  schema: RecordSchema,
  columns: readonly Column[],
  tableKey: Dataset['tableKey'],
  validate: ValidateFunction,
): Pick<Dataset, 'typedRecord' | 'validateRecord' | 'checkRecord' | 'keyOf'> {
  const names = columns.map((c) => c.name);
  // Only these need converting: a schema of required strings (the student one) costs nothing.
  const typed = columns.filter((c) => c.type !== 'string' || !c.required);
  const numeric = columns.filter((c) => c.type === 'integer' || c.type === 'number');
  // DynamoDB's limits on a key attribute's size, in bytes (a string key may not be empty either).
  const keyBytes: readonly (readonly [string, number])[] = [
    [tableKey.partition, 2048],
    ...(tableKey.sort === undefined ? [] : [[tableKey.sort, 1024] as const]),
  ];
  const { partition, sort } = tableKey;

  /**
   * Numbers as numbers (DynamoDB N), booleans as booleans (BOOL), strings as they are (S); an
   * empty cell of an optional column leaves the attribute out.
   */
  const typedRecord = (raw: Record<string, string>): StudentRecord => {
    if (typed.length === 0) return raw;
    const record: StudentRecord = {};
    for (const name of names) record[name] = raw[name] ?? '';
    for (const { name, type, required } of typed) {
      const cell = raw[name] ?? '';
      if (cell.trim() === '' && !required) delete record[name];
      else if (type !== 'string') record[name] = convert(cell, type);
    }
    return record;
  };

  const validateRecord = (
    record: StudentRecord,
    line: number,
    raw: Record<string, string> = record as Record<string, string>,
  ): RowError[] | null => {
    if (validate(record)) return null;
    const errors: RowError[] = [];
    const all = validate.errors ?? [];
    for (const error of all) {
      const field =
        error.keyword === 'required'
          ? String(error.params.missingProperty)
          : error.keyword === 'additionalProperties'
            ? String(error.params.additionalProperty)
            : error.instancePath.slice(1);
      const value = String(raw[field] ?? '');
      // An empty name fails both minLength and "not blank": say "is empty" once.
      const saidEmpty = all.some(
        (e) => e.keyword === 'minLength' && e.instancePath === error.instancePath,
      );
      if (error.keyword === 'pattern' && value === '' && saidEmpty) continue;
      errors.push({
        line,
        field,
        value: clipValue(String(value)),
        error: `${field} ${describe(error, field, value, schema.properties)}`,
        code: 'SCHEMA',
      });
    }
    return errors;
  };

  const checkRecord = (raw: Record<string, string>, line: number): CheckedRecord => {
    const record = typedRecord(raw);
    const errors = validateRecord(record, line, raw);
    const refused = storableErrors(record, line, raw, errors, numeric, keyBytes);
    return { record, errors: refused.length > 0 ? [...(errors ?? []), ...refused] : errors };
  };

  const keyOf = (record: StudentRecord): string =>
    sort === undefined ? String(record[partition]) : `${record[partition]}\u0000${record[sort]}`;

  return { typedRecord, validateRecord, checkRecord, keyOf };
}
