import { Readable } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { type LoadProgress, loadRows, type ResumePoint } from '../../../src/pipeline/loadRows.ts';
import { ReportWriter } from '../../../src/s3/ReportWriter.ts';
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

describe('Function: loadRows', () => {
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
