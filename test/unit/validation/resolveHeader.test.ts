import { describe, expect, it } from 'vitest';
import { FileProblem } from '../../../src/errors.ts';
import {
  boundName,
  fitsLayout,
  isBlankRecord,
  MAX_UNNAMED_RUNS,
  noteUnnamedValues,
  resolveHeader,
  toRecord,
} from '../../../src/validation/resolveHeader.ts';

function problemOf(
  fields: string[],
  line?: number,
  options?: Parameters<typeof resolveHeader>[2],
): FileProblem {
  try {
    resolveHeader(fields, line, options);
  } catch (error) {
    if (error instanceof FileProblem) return error;
    throw error;
  }
  throw new Error(`expected ${fields.join(',')} to be rejected`);
}

describe('Function: resolveHeader', () => {
  it('maps the header in schema order to the identity', () => {
    // Act & Assess
    expect(resolveHeader(['student_id', 'first_name', 'last_name', 'course'])).toEqual({
      kind: 'header',
      mapping: [0, 1, 2, 3],
      width: 4,
      needed: 4,
      notLoaded: [],
      notLoadedCount: 0,
    });
  });

  it('accepts the header in any order and maps each column to its field', () => {
    // Prepare
    const header = ['course', 'last_name', 'student_id', 'first_name'];
    const data = ['Maths', 'Reacher', 'A10001', 'Jack'];

    // Act
    const resolution = resolveHeader(header);

    // Assess
    expect(resolution).toMatchObject({ kind: 'header', mapping: [2, 3, 1, 0] });
    expect(toRecord(data, resolution.mapping)).toEqual({
      student_id: 'A10001',
      first_name: 'Jack',
      last_name: 'Reacher',
      course: 'Maths',
    });
  });

  it('ignores case and surrounding spaces in header names', () => {
    // Act & Assess
    expect(resolveHeader([' Student_ID', 'FIRST_NAME ', ' Last_Name ', 'Course'])).toMatchObject({
      kind: 'header',
      mapping: [0, 1, 2, 3],
    });
  });

  it('takes underscores, dashes and repeated spaces in header names as one space', () => {
    // Act & Assess
    expect(resolveHeader(['Course', 'Student ID', 'first-name', ' LAST   NAME '])).toMatchObject({
      kind: 'header',
      mapping: [1, 2, 3, 0],
      notLoaded: [],
    });
  });

  it('refuses an ambiguous first row: it names a column and is also a valid record', () => {
    // Prepare: no header, and a student whose course happens to be called "Course"
    const row = ['A10001', 'Zorgina', 'Privatissima', 'Course'];

    // Act
    const problem = problemOf(row, 1);

    // Assess: not loaded as a header nor as a record; the values only in the report
    expect(problem.code).toBe('INVALID_HEADER');
    expect(problem.message).toBe(
      'The first row is ambiguous: 1 of its 4 cells name a column but it is missing student_id, first_name, last_name, and it is also a valid record in the column order student_id,first_name,last_name,course. It was not loaded, as a header or as a record: start the file with a header naming the columns student_id,first_name,last_name,course (in any order), or remove the header row.',
    );
    for (const value of ['A10001', 'Zorgina', 'Privatissima'])
      expect(problem.message).not.toContain(value);
    expect(problem.value).toBe('A10001,Zorgina,Privatissima,Course');
  });

  it('says which separator an ambiguous first row was read with', () => {
    // Act
    const problem = problemOf(['A10001', 'Zorgina', 'Privatissima', 'course'], 2, {
      delimiter: ';',
      delimiterName: 'semicolon',
    });

    // Assess
    expect(problem.message).toContain('(read with semicolon as the separator)');
    expect(problem.value).toBe('A10001;Zorgina;Privatissima;course');
    expect(problem.line).toBe(2);
  });

  it('takes a row naming every column for a header, even one that would pass as a record', () => {
    // Act & Assess: "Course" is a valid course, yet the row names all four columns
    expect(resolveHeader(['Student_ID', 'First Name', 'Last Name', 'Course'])).toMatchObject({
      kind: 'header',
    });
  });

  it('counts two spellings of one column as a repeated column', () => {
    // Act & Assess
    expect(
      problemOf(['student_id', 'Student ID', 'first_name', 'last_name', 'course']).message,
    ).toMatch(/: repeated student_id\.$/);
  });

  it('treats a valid first row as data in schema order when there is no header', () => {
    // Act
    const resolution = resolveHeader(['A10001', 'Jack', 'Reacher', 'Advanced Physical Security']);

    // Assess
    expect(resolution).toMatchObject({ kind: 'data', mapping: [0, 1, 2, 3], width: 4, needed: 4 });
  });

  it('rejects a first row that is neither a header nor valid data, describing it without its values', () => {
    // Act
    const problem = problemOf(['id', 'name', 'surname', 'class'], 1);

    // Assess
    expect(problem.code).toBe('INVALID_HEADER');
    expect(problem.line).toBe(1);
    expect(problem.message).toBe(
      'The first row is neither the header "student_id,first_name,last_name,course" nor a valid record in that column order: it has 4 fields, none of them a column name, and as a record student_id has an invalid format (expected one capital letter and five digits, e.g. A10001).',
    );
    expect(problem.value).toBe('id,name,surname,class');
  });

  it('never puts a value of a headerless first row into the message: it is student data', () => {
    // Act
    const invalid = problemOf(['X1234', 'Zyxwvutsrq', 'Qjxkvbwmpz', 'Maths 101']);
    const wide = problemOf(['A10001', 'Zyxwvutsrq', 'Qjxkvbwmpz', 'Maths', 'Pqowieuryt']);

    // Assess
    for (const problem of [invalid, wide]) {
      expect(problem.message).not.toMatch(/X1234|Zyxwvutsrq|Qjxkvbwmpz|Maths|Pqowieuryt/);
      expect(problem.value).toContain('Zyxwvutsrq');
    }
    expect(wide.message).toContain('it has 5 fields (a record has 4), none of them a column name.');
  });

  it('rejects a headerless first row that fails the schema or has the wrong field count', () => {
    // Act & Assess
    expect(problemOf(['A1', 'Jack', 'Reacher', 'Maths']).code).toBe('INVALID_HEADER');
    expect(problemOf(['A10001', 'Jack', 'Reacher']).code).toBe('INVALID_HEADER');
    expect(problemOf(['A10001', 'Jack', 'Reacher', 'Maths', 'extra']).code).toBe('INVALID_HEADER');
  });

  it('names the missing and unknown columns of a header', () => {
    // Act
    const problem = problemOf(['student_id', 'first_name', 'surname', 'course'], 1, {
      unknownColumns: 'reject',
    });

    // Assess
    expect(problem.code).toBe('INVALID_HEADER');
    expect(problem.message).toBe(
      'The header must name the columns student_id,first_name,last_name,course (in any order): missing last_name; unknown "surname" (UNKNOWN_COLUMNS is reject).',
    );
  });

  it('does not quote the other cells of a first row that may be a record holding one column name', () => {
    // Prepare: no header, and a student whose course happens to be called "Course"
    const row = ['Zorgina Privatissima', 'S-77Q', 'Course', 'Maths'];

    // Act
    const problem = problemOf(row);

    // Assess: the shape and what is missing, never the values; the row goes to the report only
    expect(problem.code).toBe('INVALID_HEADER');
    expect(problem.message).toBe(
      'The header must name the columns student_id,first_name,last_name,course (in any order): missing student_id, first_name, last_name; 3 other cells, not named here: the first row may be a record (it is in the rejected-rows report).',
    );
    for (const value of ['Zorgina', 'S-77Q', 'Maths'])
      expect(problem.message).not.toContain(value.toLowerCase());
    expect(problem.value).toBe('Zorgina Privatissima,S-77Q,Course,Maths');
  });

  it('leaves columns outside the schema out and names them, bounded', () => {
    // Act
    const layout = resolveHeader([
      'Email',
      'student_id',
      'first_name',
      'last_name',
      'course',
      'Term',
    ]);

    // Assess
    expect(layout).toEqual({
      kind: 'header',
      mapping: [1, 2, 3, 4],
      width: 6,
      needed: 6,
      notLoaded: ['Email', 'Term'],
      notLoadedCount: 2,
    });
    expect(boundName(` a\u0000b${'c'.repeat(80)} `)).toBe(`a\\u0000b${'c'.repeat(55)}…`);
  });

  it('rejects a header with an extra column (UNKNOWN_COLUMNS=reject) or a repeated one', () => {
    // Act
    const extra = problemOf(['student_id', 'first_name', 'last_name', 'course', 'email'], 1, {
      unknownColumns: 'reject',
    });
    const repeated = problemOf(['student_id', 'first_name', 'last_name', 'course', 'Course']);
    const short = problemOf(['student_id', 'course']);

    // Assess
    expect(extra.message).toContain('unknown "email" (UNKNOWN_COLUMNS is reject)');
    expect(repeated.message).toContain('repeated course');
    expect(short.message).toContain('missing first_name, last_name');
  });

  it('ignores empty header cells and their columns, in the middle or trailing (Excel)', () => {
    // Act
    const layout = resolveHeader(['student_id', '', 'first_name', 'last_name', 'course', ' ', '']);

    // Assess
    expect(layout).toMatchObject({ kind: 'header', mapping: [0, 2, 3, 4], width: 7, needed: 5 });
    expect(fitsLayout(['A10001', 'x', 'Ada', 'Lovelace', 'Maths'], layout)).toBe(true);
    expect(fitsLayout(['A10001', 'x', 'Ada', 'Lovelace', 'Maths', '', '', '', ''], layout)).toBe(
      true,
    );
    expect(fitsLayout(['A10001', 'x', 'Ada', 'Lovelace'], layout)).toBe(false);
    expect(fitsLayout(['A10001', 'x', 'Ada', 'Lovelace', 'Maths', '', '', 'y'], layout)).toBe(
      false,
    );
  });

  it('keeps the runs of unnamed columns, and notes one column of each run that holds a value', () => {
    // Prepare
    const layout = resolveHeader(['student_id', '', 'first_name', 'last_name', 'course', ' ', '']);
    const filled = new Map<number, number>();

    // Act
    noteUnnamedValues(['A1', '', 'Ada', 'Lovelace', 'Maths'], layout, filled);
    const afterEmpty = new Map(filled);
    noteUnnamedValues(['A2', 'x', 'Ada', 'Lovelace', 'Maths', '', 'y'], layout, filled);
    noteUnnamedValues(['A3', 'z', 'Ada', 'Lovelace', 'Maths', 'w', ''], layout, filled);

    // Assess: runs [1, 2) and [5, 7); the first value found in each is kept
    expect(layout.unnamed).toEqual([
      [1, 2],
      [5, 7],
    ]);
    expect(afterEmpty.size).toBe(0);
    expect([...filled]).toEqual([
      [0, 1],
      [1, 6],
    ]);
    expect(resolveHeader(['student_id', 'first_name', 'last_name', 'course']).unnamed).toBe(
      undefined,
    );
  });

  it('rejects a header with more separate groups of unnamed columns than any spreadsheet leaves', () => {
    // Prepare: a name, then an empty cell, over and over
    const fields = ['student_id', 'first_name', 'last_name', 'course'];
    for (let i = 0; i <= MAX_UNNAMED_RUNS; i++) fields.push('', `x${i}`);

    // Act
    const problem = problemOf(fields);

    // Assess
    expect(problem.message).toBe(
      `The header has ${MAX_UNNAMED_RUNS + 1} separate groups of columns without a name; at most ${MAX_UNNAMED_RUNS} are accepted.`,
    );
  });

  it('reads a headerless first row with trailing empty fields as data', () => {
    // Act & Assess
    expect(resolveHeader(['A10001', 'Jack', 'Reacher', 'Maths', '', ''])).toEqual({
      kind: 'data',
      mapping: [0, 1, 2, 3],
      width: 4,
      needed: 4,
      notLoaded: [],
      notLoadedCount: 0,
    });
  });

  it('names at most 10 unknown columns, cut and escaped, however wide the header', () => {
    // Prepare: about 60 KB of unknown names
    const header = ['student_id', 'first_name', 'last_name', 'course'];
    for (let i = 0; i < 6_000; i++) header.push(`unknown_column_${i}`);
    header.push(`evil\nline "${'q'.repeat(500)}`);

    // Act
    const problem = problemOf(header, 1, { unknownColumns: 'reject' });

    // Assess
    expect(problem.message).toContain('unknown "unknown_column_0", "unknown_column_1"');
    expect(problem.message).toContain(
      '"unknown_column_9" and 5991 more (UNKNOWN_COLUMNS is reject).',
    );
    expect(problem.message.length).toBeLessThan(1_000);
  });

  it('lists a column repeated many times once, quickly', () => {
    // Prepare
    const header = ['student_id', 'first_name', 'last_name', ...Array(20_000).fill('course')];

    // Act
    const started = Date.now();
    const problem = problemOf(header);

    // Assess
    expect(problem.message).toMatch(/: repeated course\.$/);
    expect(Date.now() - started).toBeLessThan(500);
  });

  it("keeps the first row for the report, cut to the report's bound", () => {
    // Act
    const problem = problemOf(['X1', 'y'.repeat(60_000), 'z', 'w']);

    // Assess
    expect(problem.value.length).toBeLessThanOrEqual(1_000);
    expect(problem.value).toMatch(/^X1,y+… \[cut: 60007 characters\]$/);
  });

  it('carries the line it was given', () => {
    // Act & Assess
    expect(problemOf(['nope'], 3).line).toBe(3);
  });
});

describe('Function: isBlankRecord', () => {
  it('is true only when every field is empty or blank', () => {
    // Act & Assess
    expect(isBlankRecord(['', '', '', ''])).toBe(true);
    expect(isBlankRecord([' ', '\t', ''])).toBe(true);
    expect(isBlankRecord(['', '', 'x', ''])).toBe(false);
  });
});

describe('Function: toRecord', () => {
  it('fills a column with an empty string when its field is absent', () => {
    // Act & Assess
    expect(toRecord(['A10001'], [0, 1, 2, 3])).toEqual({
      student_id: 'A10001',
      first_name: '',
      last_name: '',
      course: '',
    });
  });
});
