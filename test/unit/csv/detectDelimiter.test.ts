import { describe, expect, it } from 'vitest';
import { detectDelimiter } from '../../../src/csv/detectDelimiter.ts';
import { FileProblem } from '../../../src/errors.ts';

const columns = ['student_id', 'first_name', 'last_name', 'course'].map((name) => ({ name }));
const rules = {
  columns,
  isRecord: (fields: string[]) => /^[A-Z][0-9]{5}$/.test(fields[0] ?? ''),
};

function problemOf(head: string): FileProblem {
  try {
    detectDelimiter(head, rules);
  } catch (error) {
    if (error instanceof FileProblem) return error;
    throw error;
  }
  throw new Error('expected a FileProblem');
}

describe('Function: detectDelimiter', () => {
  it.each([
    ['student_id,first_name,last_name,course\nA1,B,C,D', ','],
    ['student_id;first_name;last_name;course\r\nA10001;Ada;Lovelace;Maths, Advanced', ';'],
    ['Course\tStudent_ID\tfirst_name\tlast_name\n', '\t'],
    ['student_id|first_name|last_name|course', '|'],
    // A header with extra columns and a name holding a comma is still a semicolon header.
    ['"note, free";student_id;first_name;last_name;course;email\n', ';'],
  ])('finds the separator of the header %j', (head, expected) => {
    // Act & Assess
    expect(detectDelimiter(head, rules)).toBe(expected);
  });

  it('matches header names as the header check does: case, spaces, _ and - set aside, and aliases', () => {
    // Prepare
    const contacts = {
      columns: [{ name: 'Student ID', aliases: ['Matric No'] }, { name: 'Contact Phone Number' }],
      isRecord: () => true,
    };

    // Act & Assess: the comma splits each line into two fields too, naming nothing
    expect(detectDelimiter('contact_phone_number;STUDENT-ID\n', contacts)).toBe(';');
    expect(detectDelimiter('Matric No|Contact  Phone Number\n', contacts)).toBe('|');
    expect(detectDelimiter('Matric, No\tcontact phone number\n', contacts)).toBe('\t');
  });

  it('takes the one separator that splits a headerless first record into the columns', () => {
    // Act & Assess
    expect(detectDelimiter('A10001;Ada;Lovelace;Databases, Advanced\n', rules)).toBe(';');
    expect(detectDelimiter('A10001|Ada|Lovelace|Data; Big, Small\n', rules)).toBe('|');
    expect(detectDelimiter('A10001,Ada,Lovelace,"Maths;\nPhysics"\n', rules)).toBe(',');
  });

  it('prefers the separator under which a headerless record is valid', () => {
    // Act & Assess: four fields both ways; only the semicolon split starts with an id
    expect(detectDelimiter('A10001;Ada,x;Lovelace,y;Maths,z\n', rules)).toBe(';');
  });

  it("skips Excel's empty lines before the first one", () => {
    // Act & Assess
    expect(detectDelimiter('\r\n;;;\r\nstudent_id;first_name;last_name;course\r\n', rules)).toBe(
      ';',
    );
  });

  it('describes the shape of a line that fits no separator, not its content', () => {
    // Act
    const problem = problemOf('A10001 Ada Lovelace, Maths\nmore');

    // Assess
    expect(problem.code).toBe('INVALID_HEADER');
    expect(problem.line).toBe(1);
    expect(problem.message).toBe(
      'The first line (2 fields, 26 characters) is not a header naming student_id, first_name, last_name, course, and does not split into 4 columns with any of , ; tab |.',
    );
  });
});
