import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { type SummaryMessage, useLocalStack } from '../support/harness.ts';

/*
 * A schema whose column names are spelled as an export spells them (capitals and spaces), run
 * through the whole pipeline (real handler, local stack) with SCHEMA_FILE: headers that spell the
 * names in other cases, with `_` or `-`, or as an alias, load; a header row is never a record.
 */

// Read at cold start, like the deployed function: the harness sets it before the handler loads.
const harness = useLocalStack({ schemaFile: 'schemas/contacts.schema.json' });

const rowsOf = async (): Promise<Record<string, unknown>[]> =>
  (await harness.tableRows()).sort((a, b) =>
    String(a['Student ID']).localeCompare(String(b['Student ID'])),
  );

describe('Handler: ingest, header names as people write them (contacts schema)', () => {
  it('loads a header in other cases and with underscores, and never loads the header row', async () => {
    // Act
    const upload = await harness.ingest(
      'contacts/underscores.csv',
      'student_id,FULL_NAME,contact_phone_number,e_mail_address\n' +
        'S-1,Ada Lovelace,+44 20 7946 0001,ada@example.com\n' +
        'S-2,Grace Hopper,+1 202 555 0102,\n',
    );

    // Assess: two records under the schema's spelling (an empty optional cell is left out), and
    // no record made of the header
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json.rows).toEqual({ total: 2, written: 2, rejected: 0, duplicates: 0 });
    expect(await rowsOf()).toEqual([
      {
        'Student ID': 'S-1',
        'Full Name': 'Ada Lovelace',
        'Contact Phone Number': '+44 20 7946 0001',
        'E-mail Address': 'ada@example.com',
      },
      {
        'Student ID': 'S-2',
        'Full Name': 'Grace Hopper',
        'Contact Phone Number': '+1 202 555 0102',
      },
    ]);
  });

  it('matches aliases, repeated spaces and dashes, on a semicolon file, naming the columns it leaves out', async () => {
    // Act
    const upload = await harness.ingest(
      'contacts/aliases.csv',
      'Matric No;  full - name ;Telephone;Notes\nS-3;Alan Turing;+44 161 496 0003;x\n',
    );

    // Assess
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.status).toBe('SUCCEEDED');
    expect(summary.json.rows).toEqual({ total: 1, written: 1, rejected: 0, duplicates: 0 });
    expect(summary.parts.email).toContain('Columns not loaded: Notes');
    expect((await rowsOf()).find((r) => r['Student ID'] === 'S-3')).toEqual({
      'Student ID': 'S-3',
      'Full Name': 'Alan Turing',
      'Contact Phone Number': '+44 161 496 0003',
    });
  });

  it('fails an ambiguous first row (names a column, passes as a record) without loading it', async () => {
    // Prepare: the header misspells two names, so as a row it is a valid contact
    const before = (await rowsOf()).length;

    // Act
    const upload = await harness.ingest(
      'contacts/ambiguous.csv',
      'Student ID,Name,Phone Nr\nS-4,Edsger Dijkstra,+31 20 555 0104\n',
    );

    // Assess
    const summary = harness.messagesFor(upload.key)[0] as SummaryMessage;
    expect(summary.json.status).toBe('FAILED');
    expect(summary.json.fileError?.code).toBe('INVALID_HEADER');
    expect(summary.json.fileError?.message).toContain('The first row is ambiguous');
    expect(summary.json.fileError?.message).toContain('missing Full Name, Contact Phone Number');
    expect(summary.json.fileError?.message).not.toMatch(/Edsger|Phone Nr/);
    expect(await rowsOf()).toHaveLength(before);
  });

  it("names the schema's spelling in header problems and in the rejected-rows report", async () => {
    // Act
    const missing = await harness.ingest('contacts/missing.csv', 'student id,phone\nS-5,+1 555\n');
    const rejected = await harness.ingest(
      'contacts/rejected.csv',
      'STUDENT_ID,full_name,PHONE\nS-6,,+1 555 0106\nS-7,Barbara Liskov,+1 555 0107\n',
    );

    // Assess
    const failed = harness.messagesFor(missing.key)[0] as SummaryMessage;
    expect(failed.json.fileError?.message).toBe(
      'The header must name the columns Student ID,Full Name,Contact Phone Number,E-mail Address (in any order): missing Full Name.',
    );
    const partial = harness.messagesFor(rejected.key)[0] as SummaryMessage;
    expect(partial.json.status).toBe('PARTIAL');
    expect(partial.json.errors).toEqual([
      { line: 2, field: 'Full Name', error: 'Full Name is empty' },
    ]);
    const report = parse(
      (await harness.read(harness.names.error, 'contacts/rejected.errors.csv')) ?? '',
    ) as string[][];
    expect(report.slice(1).map(([line, field, value]) => [line, field, value])).toEqual([
      ['2', 'Full Name', ''],
    ]);
  });
});
