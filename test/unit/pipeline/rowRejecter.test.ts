import { describe, expect, it } from 'vitest';
import { FileProblem } from '../../../src/errors.ts';
import {
  headerCells,
  MIN_ROWS_FOR_ERROR_RATE,
  rowRejecter,
} from '../../../src/pipeline/rowRejecter.ts';
import type { RejectedWriter } from '../../../src/s3/RejectedWriter.ts';
import type { ReportWriter } from '../../../src/s3/ReportWriter.ts';
import type { FileLayout, RowCounts, RowError } from '../../../src/types.ts';

/** A dataset's column names, in the schema's order. */
const NAMES = ['student_id', 'first_name', 'last_name', 'course'];

/** A report and a rejected-rows file that keep what they are given, in memory. */
function sinks() {
  const lines: RowError[] = [];
  const rejectedRows: { cells?: readonly string[]; raw?: string; reasons: string }[] = [];
  const report = { add: (error: RowError) => void lines.push(error) } as unknown as ReportWriter;
  const rejected = {
    add: (cells: readonly string[], reasons: readonly string[]) =>
      void rejectedRows.push({ cells, reasons: reasons.join('; ') }),
    addRaw: (raw: string, reason: string) => void rejectedRows.push({ raw, reasons: reason }),
  } as unknown as RejectedWriter;
  return { lines, rejectedRows, report, rejected };
}

const counts = (total = 0, rejected = 0): RowCounts => ({
  total,
  written: 0,
  rejected,
  duplicates: 0,
});

/** A layout's column part, as headerCells takes it. */
const columns = (
  kind: FileLayout['kind'],
  mapping: number[],
  width: number,
  sentBack = false,
): Omit<FileLayout, 'delimiter' | 'encoding'> => ({
  kind,
  mapping,
  width,
  needed: width,
  notLoaded: [],
  notLoadedCount: 0,
  sentBack,
});

const error = (line: number, field: string, reason: string): RowError => ({
  line,
  field,
  value: '',
  error: reason,
  code: 'SCHEMA',
});

describe('Function: rowRejecter', () => {
  describe('Method: reject', () => {
    it('counts the row, reports each error and sends the cells with every reason', async () => {
      // Prepare
      const { lines, rejectedRows, report, rejected } = sinks();
      const rows = counts(1);
      const { reject } = rowRejecter(rows, {
        report,
        rejected,
        maxErrorRate: 0.1,
        delimiter: () => ',',
      });
      const errors = [error(2, 'course', 'is empty'), error(2, 'student_id', 'is too long')];

      // Act
      await reject(errors, ['', 'A1', 'Ann', 'Lee']);

      // Assess
      expect(rows.rejected).toBe(1);
      expect(lines).toEqual(errors);
      expect(rejectedRows).toEqual([
        { cells: ['', 'A1', 'Ann', 'Lee'], reasons: 'is empty; is too long' },
      ]);
    });

    it("joins a raw record by the file's delimiter as it is when the row is rejected", async () => {
      // Prepare
      const { rejectedRows, report, rejected } = sinks();
      let delimiter = ',';
      const { reject } = rowRejecter(counts(), {
        report,
        rejected,
        maxErrorRate: 0.1,
        delimiter: () => delimiter,
      });

      // Act: the layout (and so the delimiter) is learned after the rejecter is made
      delimiter = ';';
      await reject([error(3, '', 'expected 4 fields')], ['A1', 'Ann'], true);

      // Assess
      expect(rejectedRows).toEqual([{ raw: 'A1;Ann', reasons: 'expected 4 fields' }]);
    });

    it('only reports when there is no rejected-rows file', async () => {
      // Prepare
      const { lines, report } = sinks();
      const rows = counts(1);
      const { reject } = rowRejecter(rows, { report, maxErrorRate: 0.1, delimiter: () => ',' });

      // Act
      await reject([error(2, 'course', 'is empty')], ['x']);

      // Assess
      expect(rows.rejected).toBe(1);
      expect(lines).toHaveLength(1);
    });
  });

  describe('Method: checkErrorRate', () => {
    it(`judges the rate only once ${MIN_ROWS_FOR_ERROR_RATE} rows were read`, () => {
      // Prepare: half rejected, under and at the minimum
      const { report } = sinks();
      const rows = counts(MIN_ROWS_FOR_ERROR_RATE - 1, 500);
      const { checkErrorRate } = rowRejecter(rows, {
        report,
        maxErrorRate: 0.1,
        delimiter: () => ',',
      });

      // Act / Assess
      expect(() => checkErrorRate(1_000)).not.toThrow();
      rows.total = MIN_ROWS_FOR_ERROR_RATE;
      let thrown: unknown;
      try {
        checkErrorRate(1_001);
      } catch (caught) {
        thrown = caught;
      }
      expect(thrown).toBeInstanceOf(FileProblem);
      expect(thrown).toMatchObject({ code: 'ERROR_RATE_EXCEEDED', line: 1_001 });
      expect((thrown as Error).message).toContain('500 of 1000 rows (50.0%)');
    });

    it('lets a rate at the limit through', () => {
      // Prepare
      const { report } = sinks();
      const rows = counts(2_000, 200);
      const { checkErrorRate } = rowRejecter(rows, {
        report,
        maxErrorRate: 0.1,
        delimiter: () => ',',
      });

      // Act / Assess
      expect(() => checkErrorRate(2_001)).not.toThrow();
    });
  });
});

describe('Function: headerCells', () => {
  it("keeps a header's own cells, bounded, without the error column of a file sent back", () => {
    // Prepare
    const long = 'x'.repeat(1_000);
    const layout = columns('header', [0, 1], 3, true);

    // Act
    const cells = headerCells(['student_id', long, 'error'], layout, NAMES);

    // Assess
    expect(cells).toHaveLength(2);
    expect(cells[0]).toBe('student_id');
    expect((cells[1] as string).length).toBeLessThan(long.length);
  });

  it("names the dataset's columns where a file without a header has them", () => {
    // Prepare: the schema's columns in reverse order across a wider row
    const mapping = NAMES.map((_, i) => NAMES.length - i);
    const layout = columns('data', mapping, NAMES.length + 1);

    // Act
    const cells = headerCells(['whatever'], layout, NAMES);

    // Assess
    expect(cells[0]).toBe('');
    expect(cells.slice(1)).toEqual([...NAMES].reverse());
  });
});
