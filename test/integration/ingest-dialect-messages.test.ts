import { describe, expect, it } from 'vitest';
import { type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * A file in another separator is told about in its own terms: the rejected-rows report shows a
 * row as the file has it, and a header problem says which separator the line was read with (a
 * semicolon file shown only the comma header would look as if its separator were the problem).
 */

const harness = useLocalStack();

function onlySummary(key: string): SummaryMessage {
  const summaries = harness.messagesFor(key);
  expect(summaries).toHaveLength(1);
  return summaries[0] as SummaryMessage;
}

describe('Handler: ingest, messages about a file in another separator', () => {
  it('reports a row with the wrong number of fields joined by the file’s own separator', async () => {
    // Act
    const upload = await harness.ingest(
      'sep/semicolon-count.csv',
      'student_id;first_name;last_name;course\r\nH10001;Ada;Lovelace;Math 101\r\nH10002;Müller, Hans;Schmidt\r\n',
    );

    // Assess
    expect(onlySummary(upload.key).json.errors).toEqual([
      {
        line: 3,
        field: '',
        error: 'expected 4 fields (student_id, first_name, last_name, course), found 3',
      },
    ]);
    expect((await harness.reportRows('sep/semicolon-count.errors.csv'))[1]?.slice(0, 3)).toEqual([
      '3',
      '',
      'H10002;Müller, Hans;Schmidt',
    ]);
  });

  it('says which separator a headerless first row was read with, and reports it as the file has it', async () => {
    // Act
    const upload = await harness.ingest(
      'sep/headerless-bad.csv',
      'bad01;Ada;Lovelace;Math 101\nH20002;Alan;Turing;CS 201\n',
    );

    // Assess
    const summary = onlySummary(upload.key);
    expect(summary.json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message:
        'The first row is neither the header "student_id,first_name,last_name,course" nor a valid record in that column order: it has 4 fields (read with semicolon as the separator), none of them a column name, and as a record student_id has an invalid format (expected one capital letter and five digits, e.g. A10001).',
    });
    expect(summary.parts.email).not.toContain('Ada');
    expect((await harness.reportRows('sep/headerless-bad.errors.csv'))[1]?.slice(0, 3)).toEqual([
      '1',
      '',
      'bad01;Ada;Lovelace;Math 101',
    ]);
  });

  it('says which separator a header with a missing column was read with', async () => {
    // Act
    const upload = await harness.ingest(
      'sep/missing.csv',
      'student_id\tfirst_name\tcourse\nH30001\tAda\tMath 101\n',
    );

    // Assess
    expect(onlySummary(upload.key).json.fileError).toEqual({
      code: 'INVALID_HEADER',
      message:
        'The header must name the columns student_id,first_name,last_name,course (in any order) (read with tab as the separator): missing last_name.',
    });
  });
});
