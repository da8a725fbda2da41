import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.ts';
import { compileDataset, loadDataset, studentDataset } from '../../../src/validation/schema.ts';

const { names: COLUMNS, tableKey: TABLE_KEY, validateRecord } = studentDataset();

const schemaFile = JSON.parse(
  readFileSync(new URL('../../../schemas/student.schema.json', import.meta.url), 'utf8'),
) as { properties: Record<string, unknown>; 'x-table-key': { partition: string; sort: string } };

const valid = {
  student_id: 'A10001',
  first_name: 'Jack',
  last_name: 'Reacher',
  course: 'Advanced Physical Security',
};

describe('Module: schema', () => {
  it('takes the columns, in order, from the schema file', () => {
    // Assess
    expect(COLUMNS).toEqual(Object.keys(schemaFile.properties));
    expect(COLUMNS).toEqual(['student_id', 'first_name', 'last_name', 'course']);
    expect(Object.isFrozen(COLUMNS)).toBe(true);
  });

  it('takes the table key from the schema file', () => {
    // Assess
    expect(TABLE_KEY).toEqual(schemaFile['x-table-key']);
    expect(TABLE_KEY).toEqual({ partition: 'student_id', sort: 'course' });
  });
});

describe('Function: validateRecord', () => {
  it('returns null for a valid record, including non-ASCII names and limits reached exactly', () => {
    // Act & Assess
    expect(validateRecord(valid, 2)).toBeNull();
    expect(
      validateRecord({ ...valid, first_name: 'José', last_name: 'Núñez-Ødegård' }, 2),
    ).toBeNull();
    expect(
      validateRecord(
        { ...valid, first_name: 'x'.repeat(100), last_name: 'y', course: 'é'.repeat(200) },
        2,
      ),
    ).toBeNull();
  });

  it.each([
    ['a1001', 'a lower-case letter'],
    ['A1000', 'four digits'],
    ['A100011', 'six digits'],
    ['AB1000', 'two letters'],
    [' A10001', 'a leading space'],
    ['', 'nothing'],
  ])('rejects the student_id %j (%s) with the pattern explained', (studentId) => {
    // Act
    const errors = validateRecord({ ...valid, student_id: studentId }, 7);

    // Assess
    expect(errors).toEqual([
      {
        line: 7,
        field: 'student_id',
        value: studentId,
        error:
          'student_id has an invalid format (expected one capital letter and five digits, e.g. A10001)',
        code: 'SCHEMA',
      },
    ]);
  });

  it('keeps a huge rejected value cut, with a marker, where the error is made', () => {
    // Act
    const errors = validateRecord({ ...valid, student_id: 'Z'.repeat(60_000) }, 2);

    // Assess
    expect(errors?.[0]?.value.length).toBeLessThanOrEqual(1_000);
    expect(errors?.[0]?.value).toMatch(/^Z+… \[cut: 60000 characters\]$/);
  });

  it('says an empty name or course "is empty"', () => {
    // Act
    const errors = validateRecord({ ...valid, first_name: '', course: '' }, 3);

    // Assess
    expect(errors?.map((e) => [e.field, e.error])).toEqual([
      ['first_name', 'first_name is empty'],
      ['course', 'course is empty'],
    ]);
  });

  it('says a name or course of only spaces "is blank", and an empty one only "is empty"', () => {
    // Act
    const errors = validateRecord({ ...valid, first_name: '   ', last_name: '', course: '\t' }, 4);

    // Assess
    expect(errors).toEqual([
      {
        line: 4,
        field: 'first_name',
        value: '   ',
        error: 'first_name is blank (only spaces)',
        code: 'SCHEMA',
      },
      { line: 4, field: 'last_name', value: '', error: 'last_name is empty', code: 'SCHEMA' },
      {
        line: 4,
        field: 'course',
        value: '\t',
        error: 'course is blank (only spaces)',
        code: 'SCHEMA',
      },
    ]);
  });

  it('says a value over its maxLength "is too long" with the limit', () => {
    // Act
    const errors = validateRecord(
      {
        ...valid,
        first_name: 'x'.repeat(101),
        last_name: 'y'.repeat(101),
        course: 'z'.repeat(201),
      },
      4,
    );

    // Assess
    expect(errors?.map((e) => e.error)).toEqual([
      'first_name is too long (at most 100 characters)',
      'last_name is too long (at most 100 characters)',
      'course is too long (at most 200 characters)',
    ]);
    expect(errors?.[0]?.value).toBe('x'.repeat(101));
  });

  it('reports every problem of a row at once (allErrors)', () => {
    // Act
    const errors = validateRecord(
      { student_id: 'bad', first_name: '', last_name: '', course: '' },
      5,
    );

    // Assess
    expect(errors?.map((e) => e.field)).toEqual([
      'student_id',
      'first_name',
      'last_name',
      'course',
    ]);
    expect(errors?.every((e) => e.line === 5 && e.code === 'SCHEMA')).toBe(true);
  });

  it('says a missing property "is missing" and an unknown one "is not a column of this file format"', () => {
    // Prepare
    const { course: _course, ...withoutCourse } = valid;

    // Act
    const missing = validateRecord(withoutCourse, 8);
    const extra = validateRecord({ ...valid, email: 'someone@example.com' }, 9);

    // Assess
    expect(missing).toEqual([
      { line: 8, field: 'course', value: '', error: 'course is missing', code: 'SCHEMA' },
    ]);
    expect(extra).toEqual([
      {
        line: 9,
        field: 'email',
        value: 'someone@example.com',
        error: 'email is not a column of this file format',
        code: 'SCHEMA',
      },
    ]);
  });

  it("falls back to ajv's message for any other keyword", () => {
    // Act
    const errors = validateRecord({ ...valid, last_name: 42 as unknown as string }, 10);

    // Assess
    expect(errors?.map((e) => e.error)).toEqual(['last_name must be string']);
  });
});

describe('Function: compileDataset', () => {
  const base = {
    type: 'object',
    'x-table-key': { partition: 'id' },
    properties: {
      id: { type: 'integer', minimum: 1 },
      email: { type: 'string', format: 'email' },
      born: { type: 'string', format: 'date' },
    },
    required: ['id'],
  };

  it('reads the columns, their types and the key of another schema', () => {
    // Act
    const dataset = compileDataset(base, 'people.json');

    // Assess
    expect(dataset.columns).toEqual([
      { name: 'id', type: 'integer', required: true, aliases: [] },
      { name: 'email', type: 'string', required: false, aliases: [] },
      { name: 'born', type: 'string', required: false, aliases: [] },
    ]);
    expect(dataset.tableKey).toEqual({ partition: 'id', sort: undefined });
    expect(dataset.validate({ id: 1, email: 'a@example.com', born: '2000-02-29' })).toBe(true);
    expect(dataset.validate({ id: 1, email: 'not an address' })).toBe(false);
    expect(dataset.validate({ id: 1, born: '2001-02-29' })).toBe(false);
  });

  it.each([
    [
      { ...base, properties: {} },
      'SCHEMA_FILE people.json: the schema must have "properties", one per column',
    ],
    [
      { ...base, properties: { ...base.properties, tags: { type: 'array' } } },
      'SCHEMA_FILE people.json: column tags must have "type" string, integer, number or boolean',
    ],
    [
      { ...base, 'x-table-key': {} },
      'SCHEMA_FILE people.json: "x-table-key" must name the partition key column ({"partition": "…"})',
    ],
    [
      { ...base, 'x-table-key': { partition: 'email' } },
      'SCHEMA_FILE people.json: the key column email must be a required string, integer or number column',
    ],
    [
      { ...base, properties: { ...base.properties, id: { type: 'integer', minimun: 1 } } },
      'SCHEMA_FILE people.json: strict mode: unknown keyword: "minimun"',
    ],
    [
      {
        ...base,
        properties: { ...base.properties, email: { type: 'string', 'x-aliases': 'E-mail' } },
      },
      'SCHEMA_FILE people.json: "x-aliases" of column "email" must be a list of at most 20 strings',
    ],
    [
      {
        ...base,
        properties: { ...base.properties, born: { type: 'string', 'x-aliases': [' EMAIL'] } },
      },
      'SCHEMA_FILE people.json: alias " EMAIL" of column "born" and column "email" are the same name once case, spaces, _ and - are set aside: a header could not tell them apart',
    ],
    [
      { ...base, properties: { ...base.properties, 'Born ': { type: 'string' } } },
      'SCHEMA_FILE people.json: column "Born " and column "born" are the same name once case, spaces, _ and - are set aside: a header could not tell them apart',
    ],
  ])('refuses a bad schema with a ConfigError that says what is wrong (%#)', (schema, message) => {
    // Act & Assess
    expect(() => compileDataset(schema, 'people.json')).toThrow(new ConfigError(message));
  });

  it('takes names with capitals and spaces as they are, and x-aliases in strict mode', () => {
    // Prepare
    const schema = {
      type: 'object',
      'x-table-key': { partition: 'Student ID' },
      properties: {
        'Student ID': { type: 'string', 'x-aliases': ['ID Number', 'Matric No'] },
        'Contact Phone Number': { type: 'string' },
      },
      required: ['Student ID'],
      additionalProperties: false,
    };

    // Act
    const dataset = compileDataset(schema, 'contacts.json');

    // Assess
    expect(dataset.columns).toEqual([
      { name: 'Student ID', type: 'string', required: true, aliases: ['ID Number', 'Matric No'] },
      { name: 'Contact Phone Number', type: 'string', required: false, aliases: [] },
    ]);
    expect(dataset.tableKey).toEqual({ partition: 'Student ID', sort: undefined });
    expect(dataset.validate({ 'Student ID': 'S-1', 'Contact Phone Number': '+1 555' })).toBe(true);
    expect(dataset.validate({ student_id: 'S-1' })).toBe(false);
    expect(loadDataset('schemas/contacts.schema.json').tableKey.partition).toBe('Student ID');
  });

  it('refuses a SCHEMA_FILE that cannot be read', () => {
    // Act & Assess
    expect(() => loadDataset('schemas/nope.json')).toThrow(ConfigError);
    expect(loadDataset('schemas/grades.schema.json').tableKey).toEqual({
      partition: 'student_id',
      sort: 'course',
    });
  });
});
