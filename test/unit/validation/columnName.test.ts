import { describe, expect, it } from 'vitest';
import {
  aliasesProblem,
  columnIndex,
  columnKey,
  MAX_ALIASES,
  MAX_COLUMN_NAME_BYTES,
  namesProblem,
} from '../../../src/validation/columnName.ts';

describe('Function: columnKey', () => {
  it.each([
    'Student ID',
    'student_id',
    'student-id',
    'STUDENT_ID',
    '  Student   ID ',
    'student _ id',
    'Student\u00a0ID',
    'student\tid',
  ])('compares %j as "student id"', (name) => {
    // Act & Assess
    expect(columnKey(name)).toBe('student id');
  });

  it('takes a decomposed accent for the composed one, and keeps other characters', () => {
    // Act & Assess
    expect(columnKey('Cafe\u0301 Name')).toBe(columnKey('Café name'));
    expect(columnKey('Contact Phone Number')).toBe('contact phone number');
    expect(columnKey('e.mail')).toBe('e.mail');
    expect(columnKey('StudentID')).not.toBe(columnKey('Student ID'));
  });

  it('is empty for a blank cell or one of separators only', () => {
    // Act & Assess
    expect(columnKey('')).toBe('');
    expect(columnKey('  ')).toBe('');
    expect(columnKey(' _-_ ')).toBe('');
  });
});

describe('Function: columnIndex', () => {
  it('maps each name and alias, compared, to its column', () => {
    // Prepare
    const columns = [
      { name: 'Student ID', aliases: ['ID Number', 'Matric No'] },
      { name: 'Full Name' },
    ];

    // Act
    const index = columnIndex(columns);

    // Assess
    expect([...index]).toEqual([
      ['student id', 0],
      ['id number', 0],
      ['matric no', 0],
      ['full name', 1],
    ]);
    expect(columnIndex(columns)).toBe(index);
  });
});

describe('Function: aliasesProblem', () => {
  it('accepts a list of strings, bounded', () => {
    // Act & Assess
    expect(aliasesProblem('id', [])).toBeNull();
    expect(aliasesProblem('id', ['ID Number', 'Matric No'])).toBeNull();
    expect(aliasesProblem('id', Array(MAX_ALIASES).fill('x'))).toBeNull();
  });

  it.each([
    ['a string', 'ID Number'],
    ['a number in the list', ['ID', 7]],
    ['too many', Array(MAX_ALIASES + 1).fill('x')],
    ['an object', { ID: true }],
  ])('refuses %s', (_, aliases) => {
    // Act & Assess
    expect(aliasesProblem('Student ID', aliases)).toBe(
      `"x-aliases" of column "Student ID" must be a list of at most ${MAX_ALIASES} strings`,
    );
  });
});

describe('Function: namesProblem', () => {
  it('accepts names of any spelling that stand for one column each, and an alias equal to its own name', () => {
    // Act & Assess
    expect(
      namesProblem([
        { name: 'Contact Phone Number', aliases: ['Phone', 'contact_phone_number'] },
        { name: 'E-mail Address' },
        { name: 'student_id' },
      ]),
    ).toBeNull();
  });

  it('refuses two columns that compare the same', () => {
    // Act & Assess
    expect(namesProblem([{ name: 'Student ID' }, { name: 'student_id' }])).toBe(
      'column "student_id" and column "Student ID" are the same name once case, spaces, _ and - are set aside: a header could not tell them apart',
    );
  });

  it("refuses an alias that is another column's name or alias", () => {
    // Act & Assess
    expect(namesProblem([{ name: 'id' }, { name: 'Full Name', aliases: ['ID'] }])).toBe(
      'alias "ID" of column "Full Name" and column "id" are the same name once case, spaces, _ and - are set aside: a header could not tell them apart',
    );
    expect(
      namesProblem([
        { name: 'a', aliases: ['Number'] },
        { name: 'b', aliases: ['number'] },
      ]),
    ).toContain('alias "number" of column "b" and column "a" are the same name');
  });

  it('refuses a blank name, an over-long one and __proto__', () => {
    // Act & Assess
    expect(namesProblem([{ name: ' _ ' }])).toBe(
      'column " _ " is blank once case, spaces, _ and - are set aside',
    );
    expect(namesProblem([{ name: 'id', aliases: [''] }])).toBe(
      'alias "" of column "id" is blank once case, spaces, _ and - are set aside',
    );
    const long = 'é'.repeat(MAX_COLUMN_NAME_BYTES);
    expect(namesProblem([{ name: long }])).toMatch(
      new RegExp(`^column "é+… is longer than ${MAX_COLUMN_NAME_BYTES} bytes$`),
    );
    expect(namesProblem([{ name: '__proto__' }])).toBe('a column may not be called __proto__');
  });
});
