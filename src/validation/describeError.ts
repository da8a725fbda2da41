import type { ErrorObject } from 'ajv';

/** A column of a record schema, as far as a message about it needs. */
export interface PropertySchema {
  [keyword: string]: unknown;
  type?: unknown;
  description?: string;
  enum?: unknown[];
  format?: string;
  'x-aliases'?: unknown;
}

const plainList = (values: unknown[]): string => values.map((v) => String(v)).join(', ');

/** Turns ajv's error into a sentence for a registrar, not for a developer, and without the value. */
export function describe(
  error: ErrorObject,
  field: string,
  value: string,
  properties: Record<string, PropertySchema>,
): string {
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
