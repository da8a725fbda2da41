import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsPlugin from 'ajv-formats';
import studentSchema from '../../schemas/student.schema.json' with { type: 'json' };
import { clipValue } from '../bounds.ts';
import { ConfigError } from '../errors.ts';
import type { RowError, StudentRecord } from '../types.ts';
import { aliasesProblem, namesProblem } from './columnName.ts';

/** The JSON Schema types a column may have: each decides the DynamoDB type it is written as. */
export type ColumnType = 'string' | 'integer' | 'number' | 'boolean';
const COLUMN_TYPES: readonly ColumnType[] = ['string', 'integer', 'number', 'boolean'];

interface PropertySchema {
  [keyword: string]: unknown;
  type?: unknown;
  description?: string;
  enum?: unknown[];
  format?: string;
  'x-aliases'?: unknown;
}

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

export interface Dataset {
  schema: RecordSchema;
  columns: readonly Column[];
  tableKey: { partition: string; sort: string | undefined };
  validate: ValidateFunction;
}

// ajv-formats is CommonJS: its default export arrives wrapped under ESM.
const addFormats = ((addFormatsPlugin as unknown as { default?: unknown }).default ??
  addFormatsPlugin) as (ajv: Ajv, formats: string[]) => Ajv;

function fail(source: string, problem: string): never {
  throw new ConfigError(`SCHEMA_FILE ${source}: ${problem}`);
}

/**
 * Checks and compiles a record schema: an object of string, integer, number or boolean columns
 * whose `x-table-key` names required columns (a key can only be a string or a number). One Ajv
 * instance and one compile per schema, at cold start; allErrors is safe because a row is bounded
 * by csv-parse's max_record_size.
 */
export function compileDataset(raw: unknown, source: string): Dataset {
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
  return {
    schema: schema as RecordSchema,
    columns,
    tableKey: { partition: key.partition, sort: key.sort },
    validate,
  };
}

/** Reads SCHEMA_FILE (relative to the working directory, the package root on Lambda). */
export function loadDataset(file: string | undefined): Dataset {
  if (!file) return compileDataset(studentSchema, 'schemas/student.schema.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolve(file), 'utf8'));
  } catch (error) {
    fail(file, `cannot be read as JSON (${(error as Error).message})`);
  }
  return compileDataset(raw, file);
}

// Cold start: the schema is read and compiled once, and a bad one fails here, naming the file.
const dataset = loadDataset(process.env.SCHEMA_FILE?.trim() || undefined);
const properties = dataset.schema.properties;

/** The columns, in the order a file without a header must use: the schema's property order. */
export const COLUMNS: readonly string[] = Object.freeze(dataset.columns.map((c) => c.name));

/** Each column's type and whether it is required, in COLUMNS order. */
export const COLUMN_DEFS: readonly Column[] = Object.freeze(dataset.columns);

/** Fields a record without a header needs: up to the last required column (optional ones may trail). */
export const REQUIRED_WIDTH = dataset.columns.findLastIndex((c) => c.required) + 1;

/** The table key, declared in the schema next to the columns it names. */
export const TABLE_KEY = Object.freeze(dataset.tableKey);

// Only these need converting: a schema of required strings (the student one) costs nothing.
const TYPED = dataset.columns.filter((c) => c.type !== 'string' || !c.required);
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

/**
 * The record as it is written: numbers as numbers (DynamoDB N), booleans as booleans (BOOL),
 * strings as they are (S); an empty cell of an optional column leaves the attribute out.
 */
export function typedRecord(raw: Record<string, string>): StudentRecord {
  if (TYPED.length === 0) return raw;
  const record: StudentRecord = {};
  for (const name of COLUMNS) record[name] = raw[name] ?? '';
  for (const { name, type, required } of TYPED) {
    const cell = raw[name] ?? '';
    if (cell.trim() === '' && !required) delete record[name];
    else if (type !== 'string') record[name] = convert(cell, type);
  }
  return record;
}

const plainList = (values: unknown[]): string => values.map((v) => String(v)).join(', ');

/** Turns ajv's error into a sentence for a registrar, not for a developer, and without the value. */
function describe(error: ErrorObject, field: string, value: string): string {
  const property = properties[field];
  const hint = property?.description;
  switch (error.keyword) {
    case 'pattern':
      if (value.length > 0 && value.trim() === '') return 'is blank (only spaces)';
      return hint
        ? `has an invalid format (expected ${hint.charAt(0).toLowerCase()}${hint.slice(1)})`
        : 'has an invalid format';
    case 'minLength':
      return error.params.limit === 1
        ? 'is empty'
        : `is too short (at least ${error.params.limit} characters)`;
    case 'maxLength':
      return `is too long (at most ${error.params.limit} characters)`;
    case 'required':
      return 'is missing';
    case 'additionalProperties':
      return 'is not a column of this file format';
    case 'type':
      if (value.trim() === '' && error.params.type !== 'string') return 'is empty';
      if (error.params.type === 'integer') return 'is not a whole number';
      if (error.params.type === 'number') return 'is not a number';
      if (error.params.type === 'boolean') return 'is not true or false';
      return error.message ?? 'is invalid';
    case 'enum':
      return `is not one of the allowed values (${plainList(property?.enum ?? []).slice(0, 200)})`;
    case 'format':
      if (error.params.format === 'date') return 'is not a date (YYYY-MM-DD)';
      if (error.params.format === 'email') return 'is not an e-mail address';
      return `is not a valid ${error.params.format}`;
    case 'minimum':
      return `is less than the minimum (${error.params.limit})`;
    case 'exclusiveMinimum':
      return `must be more than ${error.params.limit}`;
    case 'maximum':
      return `is more than the maximum (${error.params.limit})`;
    case 'exclusiveMaximum':
      return `must be less than ${error.params.limit}`;
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Checks a record against the schema. Returns null when valid, else one RowError per problem,
 * each naming the field and the reason (the value goes to the rejected-rows report only).
 */
export function validateRecord(
  record: StudentRecord,
  line: number,
  raw: Record<string, string> = record as Record<string, string>,
): RowError[] | null {
  const validate = dataset.validate;
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
      error: `${field} ${describe(error, field, value)}`,
      code: 'SCHEMA',
    });
  }
  return errors;
}

const NUMERIC = dataset.columns.filter((c) => c.type === 'integer' || c.type === 'number');

/** DynamoDB refuses a number closer to 0 than this ("Number underflow"). */
const MIN_DYNAMODB_NUMBER = 1e-130;

/** DynamoDB's limits on a key attribute's size, in bytes (a string key may not be empty either). */
const KEY_BYTES: readonly (readonly [string, number])[] = [
  [dataset.tableKey.partition, 2048],
  ...(dataset.tableKey.sort === undefined ? [] : [[dataset.tableKey.sort, 1024] as const]),
];

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
  for (const { name } of NUMERIC) {
    const value = record[name];
    if (typeof value !== 'number') continue;
    const size = Math.abs(value);
    if (!(size <= Number.MAX_SAFE_INTEGER)) {
      add(name, `is too large to store exactly (the limit is ±${Number.MAX_SAFE_INTEGER})`);
    } else if (size !== 0 && size < MIN_DYNAMODB_NUMBER) {
      add(name, `is too close to 0 to store (DynamoDB's smallest is ${MIN_DYNAMODB_NUMBER})`);
    }
  }
  for (const [name, limit] of KEY_BYTES) {
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

/** Converts a row's cells to the schema's types and checks them: the record to write, or why not. */
export function checkRecord(
  raw: Record<string, string>,
  line: number,
): { record: StudentRecord; errors: RowError[] | null } {
  const record = typedRecord(raw);
  const errors = validateRecord(record, line, raw);
  const refused = storableErrors(record, line, raw, errors);
  return { record, errors: refused.length > 0 ? [...(errors ?? []), ...refused] : errors };
}
