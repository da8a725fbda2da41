import { Ajv, type ErrorObject } from 'ajv';
import studentSchema from '../../schemas/student.schema.json' with { type: 'json' };
import { clipValue } from '../bounds.ts';
import type { RowError, StudentRecord } from '../types.ts';

interface PropertySchema {
  [keyword: string]: unknown;
  description?: string;
}

/** The columns, in the order a file without a header must use: the schema's property order. */
export const COLUMNS: readonly string[] = Object.freeze(Object.keys(studentSchema.properties));

/** The table key, declared in the schema next to the columns it names. */
export const TABLE_KEY = Object.freeze({
  partition: studentSchema['x-table-key'].partition,
  sort: studentSchema['x-table-key'].sort,
});

const properties: Record<string, PropertySchema> = studentSchema.properties;

// One Ajv instance and one compile, at module load. allErrors is safe: a row is bounded by
// csv-parse's max_record_size, so every problem of a row can be reported at once.
const ajv = new Ajv({ allErrors: true, strict: true, keywords: ['x-table-key'] });
const validate = ajv.compile<StudentRecord>(studentSchema);

/** Turns ajv's error into a sentence for a registrar, not for a developer. */
function describe(error: ErrorObject, field: string, value: string): string {
  const hint = properties[field]?.description;
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
    default:
      return error.message ?? 'is invalid';
  }
}

/**
 * Checks a record against the schema. Returns null when valid, else one RowError per problem,
 * each naming the field, its value and the reason.
 */
export function validateRecord(record: StudentRecord, line: number): RowError[] | null {
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
    const value = record[field] ?? '';
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
