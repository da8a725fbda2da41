import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { BatchWriter } from '../../../src/dynamo/BatchWriter.ts';
import { KeyTracker } from '../../../src/dynamo/KeyTracker.ts';
import { type LoadProgress, loadRows, type ResumePoint } from '../../../src/pipeline/loadRows.ts';
import { ReportWriter } from '../../../src/s3/ReportWriter.ts';
import type { RowError, StudentRecord } from '../../../src/types.ts';
import { studentDataset } from '../../../src/validation/schema.ts';

const students = studentDataset();

// A clean file never opens the report, so this client is never called.
const report = () =>
  new ReportWriter(new S3Client({ region: 'us-east-1' }), { bucket: 'unused', key: 'unused' });

function file(rows: number): Buffer {
  const lines = ['\ufeffcourse,student_id,first_name,last_name'];
  for (let i = 0; i < rows; i++) {
    lines.push(
      i % 100 === 50
        ? `"Course\r\nwith a break",L${String(i).padStart(5, '0')},"Ann ""A""",Lee`
        : `Course ${i % 5},L${String(i).padStart(5, '0')},Ann,Lee`,
    );
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n`);
}

/** What a writer was asked to put, in order, with each row's start. */
interface Put {
  key: string;
  item: StudentRecord;
  offset: number;
  line: number;
}

/** A writer that acknowledges at once, and a report that keeps its lines: both in memory. */
function recorder(): {
  dataset: typeof students;
  writer: BatchWriter;
  report: ReportWriter;
  puts: Put[];
  lines: RowError[];
} {
  const puts: Put[] = [];
  const lines: RowError[] = [];
  const writer = {
    put: (key: string, item: StudentRecord, offset: number, line: number) => {
      puts.push({ key, item, offset, line });
    },
    flush: async () => ({}),
  } as unknown as BatchWriter;
  const report = {
    add: (error: RowError) => {
      lines.push(error);
    },
  } as unknown as ReportWriter;
  return { dataset: students, writer, report, puts, lines };
}

/** The table after the puts, in order: the last put for a key wins. */
const tableAfter = (...puts: Put[][]): Map<string, StudentRecord> =>
  new Map(puts.flat().map((put) => [put.key, put.item]));

/** 1,200 rows: every 37th invalid, and from row 600 on every 3rd repeats a key of row i − 400. */
function repeatingFile(): Buffer {
  const lines = ['student_id,first_name,last_name,course'];
  for (let i = 0; i < 1_200; i++) {
    const id =
      i % 37 === 36 ? 'bad' : `R${String(i >= 600 && i % 3 === 0 ? i - 400 : i).padStart(5, '0')}`;
    lines.push(`${id},First${i},Last${i},Maths`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}

describe('Function: loadRows', () => {
  it('replays the rows between the watermark and where the previous part stopped: put again in file order, not counted, reported or tracked again', async () => {
    // Prepare: one uninterrupted run, and a first part that stops after 3 looks at the clock
    const bytes = repeatingFile();
    const whole = recorder();
    const all = await loadRows(Readable.from([bytes]), { ...whole, maxErrorRate: 0.5 });
    const first = recorder();
    const seen = new KeyTracker();
    let checks = 0;
    const part1 = await loadRows(Readable.from([bytes]), {
      ...first,
      seen,
      maxErrorRate: 0.5,
      shouldStop: () => ++checks >= 3,
    });
    const stoppedAt = part1.stoppedAt;
    if (!stoppedAt) throw new Error('did not stop');
    // The writes of rows 500 on were not acknowledged: the watermark is row 500's start, behind
    // invalid rows and rows whose keys come again before and after the stop
    const watermark = first.puts.find((put) => put.item.first_name === 'First500');
    if (!watermark) throw new Error('row 500 was not put');

    // Act
    const second = recorder();
    const part2 = await loadRows(Readable.from([bytes.subarray(watermark.offset)]), {
      ...second,
      seen,
      maxErrorRate: 0.5,
      resume: {
        offset: watermark.offset,
        line: watermark.line,
        replayThrough: stoppedAt,
        layout: part1.layout,
        rows: part1.rows,
      },
    });

    // Assess: the stop was after row 766, past repeats (row 600 on) and invalid rows
    expect(part1.rows.total).toBe(767);
    expect(bytes.subarray(watermark.offset).toString().startsWith('R00500,First500,')).toBe(true);
    expect(part2.stoppedAt).toBeNull();
    expect(part2.rows).toEqual(all.rows);
    expect(all.rows).toEqual({ total: 1_200, written: 979, rejected: 32, duplicates: 189 });
    // Each invalid row reported once, by the part that read it first
    expect([...first.lines, ...second.lines]).toEqual(whole.lines);
    // The replayed rows were put again, from row 500 on, and the table ends as after one run
    const replayed = second.puts.filter((put) => put.offset < stoppedAt.offset);
    expect(replayed[0]?.item.first_name).toBe('First500');
    expect(replayed.length).toBeGreaterThan(200);
    expect(tableAfter(first.puts, second.puts)).toEqual(tableAfter(whole.puts));
    expect(
      tableAfter(
        first.puts.filter((put) => put.offset < watermark.offset),
        second.puts,
      ),
    ).toEqual(tableAfter(whole.puts));
  });

  it('puts each row with where it starts, so a watermark is a record boundary to resume at', async () => {
    // Prepare
    const bytes = file(300);
    const { writer, report: lines, puts } = recorder();

    // Act
    await loadRows(Readable.from([bytes]), {
      dataset: students,
      writer,
      report: lines,
      maxErrorRate: 0.5,
    });

    // Assess: every put's start is the end of the record before it (the first: after the header)
    const text = bytes.toString('latin1');
    expect(puts[0]).toMatchObject({ offset: text.indexOf('Course 0,L00000'), line: 2 });
    expect(puts[51]).toMatchObject({ offset: text.indexOf('Course 1,L00051'), line: 2 + 51 + 1 });
    for (const put of puts) {
      expect(bytes.subarray(put.offset).toString()).toMatch(
        /^("Course\r\nwith a break"|Course \d),/,
      );
    }
  });

  it('resumes from a checkpoint saved before file layouts (only a mapping), across a deploy', async () => {
    // Prepare: what the previous version saved, as it was stored
    const bytes = file(600);
    const whole = await loadRows(Readable.from([bytes]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
    });
    const at = bytes.indexOf('Course 0,L00300,');
    const legacy = {
      offset: at,
      line: 2 + 300 + 3,
      mapping: [1, 2, 3, 0],
      rows: { total: 300, written: 300, rejected: 0, duplicates: 0 },
    } as unknown as ResumePoint;

    // Act
    const rest = await loadRows(Readable.from([bytes.subarray(at)]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      resume: legacy,
    });

    // Assess
    expect(rest.fileError).toBeNull();
    expect(rest.rows).toEqual(whole.rows);
    expect(rest.layout).toMatchObject({ mapping: [1, 2, 3, 0], delimiter: ',', encoding: 'utf-8' });
  });

  it('stops at a record boundary when asked and resumes from there to the same totals', async () => {
    // Prepare
    const bytes = file(2_000);
    let checks = 0;

    // Act
    const first = await loadRows(Readable.from([bytes]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      shouldStop: () => ++checks >= 3,
    });
    const stoppedAt = first.stoppedAt;
    if (!stoppedAt) throw new Error('did not stop');
    const rest = await loadRows(Readable.from([bytes.subarray(stoppedAt.offset)]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      resume: { ...stoppedAt, layout: first.layout, rows: first.rows },
    });
    const whole = await loadRows(Readable.from([bytes]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
    });

    // Assess: 3 checks of 256 records (the header is one), so the stop is after data row 767
    expect(first.rows.total).toBe(767);
    expect(bytes.subarray(stoppedAt.offset).toString().startsWith('Course 2,L00767,')).toBe(true);
    // the header, 767 rows, and 8 of them (i % 100 === 50) span two lines
    expect(stoppedAt.line).toBe(1 + 767 + 8 + 1);
    expect(rest.stoppedAt).toBeNull();
    expect(rest.fileError).toBeNull();
    expect(rest.rows).toEqual(whole.rows);
    expect(whole.rows).toEqual({ total: 2_000, written: 2_000, rejected: 0, duplicates: 0 });
  });

  it('carries the unnamed columns found holding a value from part to part', async () => {
    // Prepare: column 3 has no header; its value is in the first half, column 6's in the second
    const lines = ['student_id,first_name,,last_name,course,,'];
    for (let i = 0; i < 600; i++) {
      const third = i === 10 ? 'note' : '';
      const sixth = i === 500 ? 'other' : '';
      lines.push(`L${String(i).padStart(5, '0')},Ann,${third},Lee,Maths,${sixth},`);
    }
    const bytes = Buffer.from(`${lines.join('\n')}\n`);
    let checks = 0;
    const first = await loadRows(Readable.from([bytes]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      shouldStop: () => ++checks === 1,
    });
    const at = first.stoppedAt;
    if (!at || !first.layout) throw new Error('expected the first part to stop');

    // Act
    const rest = await loadRows(Readable.from([bytes.subarray(at.offset)]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      resume: { ...at, layout: first.layout, rows: first.rows },
    });

    // Assess
    expect(first.layout.unnamedFilled).toEqual([2]);
    expect(rest.layout?.unnamedFilled).toEqual([2, 5]);
    expect(rest.rows.total).toBe(600);
  });

  it('reports progress at the interval with rows, bytes and a rate', async () => {
    // Prepare
    const progress: LoadProgress[] = [];

    // Act
    await loadRows(Readable.from([file(3_000)]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
      progressIntervalMs: 0,
      onProgress: (p) => progress.push(p),
    });

    // Assess: one line per 256 records
    expect(progress.length).toBe(Math.floor(3_001 / 256));
    expect(progress[0]).toMatchObject({ rowsRead: 255, rowsRejected: 0 });
    expect(progress.at(-1)?.bytes).toBeGreaterThan(progress[0]?.bytes ?? 0);
    for (const p of progress) expect(p.rowsPerSecond).toBeGreaterThan(0);
  });

  it('reports an empty file and a header-only file as file problems', async () => {
    const empty = await loadRows(Readable.from([Buffer.from('\ufeff\r\n')]), {
      dataset: students,
      writer: null,
      report: report(),
      maxErrorRate: 0.5,
    });
    const headerOnly = await loadRows(
      Readable.from([Buffer.from('student_id,first_name,last_name,course\n')]),
      { dataset: students, writer: null, report: report(), maxErrorRate: 0.5 },
    );

    expect(empty.fileError?.code).toBe('EMPTY_FILE');
    expect(headerOnly.fileError?.code).toBe('NO_DATA_ROWS');
  });
});
