import { describe, expect, it } from 'vitest';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { useLocalStack } from '../support/harness.ts';

/*
 * Two datasets of one deployment side by side, through the real handler: schemas/datasets.json
 * sends students/… to the student schema and table (a string + string key) and grades/… to the
 * grades schema and table (integer, boolean and optional columns).
 */
const local = useLocalStack({ datasetsFile: 'schemas/datasets.json' });

describe('Handler: ingest, several datasets in one stack', () => {
  it('loads each file with the schema and into the table its prefix picks, and names the dataset', async () => {
    // Prepare
    const handler = local.handler();
    const enrolments = 'student_id,first_name,last_name,course\nA10001,Ada,Lovelace,Math 101\n';
    const grades = 'student_id,course,credits,grade,passed\nG10001,Math 101,5,A,true\n';

    // Act
    await local.drive(handler, await local.upload('students/term1.csv', enrolments), lambdaContext);
    await local.drive(handler, await local.upload('grades/term1.csv', grades), lambdaContext);

    // Assess
    expect(await local.scan('students')).toEqual([
      { student_id: 'A10001', first_name: 'Ada', last_name: 'Lovelace', course: 'Math 101' },
    ]);
    expect(await local.scan('grades')).toEqual([
      { student_id: 'G10001', course: 'Math 101', credits: 5, grade: 'A', passed: true },
    ]);
    const [studentSummary] = local.summariesFor('students/term1.csv');
    const [gradeSummary] = local.summariesFor('grades/term1.csv');
    expect(studentSummary).toMatchObject({ status: 'SUCCEEDED', dataset: 'students' });
    expect(gradeSummary).toMatchObject({ status: 'SUCCEEDED', dataset: 'grades' });
    expect(local.emailsFor('grades/term1.csv')[0]).toContain('Dataset: grades');
    expect(local.stack.summaries.map((m) => m.subject)).toContain(
      '[SUCCEEDED] term1.csv (grades): 1 rows loaded',
    );
  });

  it('sends a key under no prefix to the default dataset (students)', async () => {
    // Act
    await local.drive(
      local.handler(),
      await local.upload(
        'term2.csv',
        'student_id,first_name,last_name,course\nB20002,Alan,Turing,Logic\n',
      ),
      lambdaContext,
    );

    // Assess
    expect(local.summariesFor('term2.csv')[0]).toMatchObject({
      status: 'SUCCEEDED',
      dataset: 'students',
    });
    expect((await local.scan('students')).map((item) => item.student_id)).toContain('B20002');
  });
});
