import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  guardCell,
  RejectedWriter,
  rejectedKey,
  unguardCell,
} from '../../../src/s3/RejectedWriter.ts';

const s3Mock = mockClient(S3Client);
const s3 = new S3Client({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const location = { bucket: 'errors', key: 'term1/students.rejected.csv' };
const HEADER = ['Course', 'student_id', 'first_name', 'last_name', 'notes'];

/** The body of the one PutObject the file was uploaded with, as bytes decoded to text. */
async function uploadedBody(): Promise<string> {
  const calls = s3Mock.commandCalls(PutObjectCommand);
  expect(calls).toHaveLength(1);
  const body = calls[0]?.args[0].input.Body;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return Buffer.from(body).toString('utf8');
  throw new Error(`unexpected body ${typeof body}`);
}

describe('Function: rejectedKey', () => {
  it.each([
    ['x/y.csv', 'x/y.rejected.csv'],
    ['a/Term 1.CSV', 'a/Term 1.rejected.csv'],
    ['x/y.csv.gz', 'x/y.csv.gz.rejected.csv'],
  ])('names the rejected rows of %j %j', (key, expected) => {
    // Act & Assess
    expect(rejectedKey(key)).toBe(expected);
  });
});

describe('Functions: guardCell, unguardCell', () => {
  it.each([
    ['=1+2', "'=1+2"],
    ['+1', "'+1"],
    ['-1', "'-1"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\t=1', "'\t=1"],
    ['\r=1', "'\r=1"],
    // An apostrophe of its own is guarded too, or it would be taken for the guard.
    ["'=x", "''=x"],
    ["'", "''"],
    ["'abc", "''abc"],
  ])('guards %j as %j and loads it back exactly', (value, written) => {
    // Act & Assess
    expect(guardCell(value)).toBe(written);
    expect(unguardCell(written)).toBe(value);
  });

  it.each(['Jack', '', 'a=b', 'Smith-Jones', 'José', '2024-01-02', "O'Brien"])(
    'leaves %j alone both ways',
    (value) => {
      // Act & Assess
      expect(guardCell(value)).toBe(value);
      expect(unguardCell(value)).toBe(value);
    },
  );

  it('round-trips every short string over the characters that matter', () => {
    // Prepare: every string of up to 3 characters from these.
    const alphabet = ["'", '=', '+', '-', '@', '\t', '\r', 'a', ' '];
    let values = [''];
    for (let n = 0; n < 3; n++)
      values = [...values, ...values.flatMap((v) => alphabet.map((c) => v + c))];

    // Act & Assess
    for (const value of new Set(values)) {
      expect(unguardCell(guardCell(value))).toBe(value);
      expect(/^[=+\-@\t\r]/.test(guardCell(value))).toBe(false);
    }
  });

  it('loads what a person typed without the guard as it is (only a guard is removed)', () => {
    // Act & Assess
    expect(unguardCell('Maths')).toBe('Maths');
    expect(unguardCell("'Maths")).toBe("'Maths");
  });
});

describe('Class: RejectedWriter', () => {
  beforeEach(() => {
    s3Mock.reset();
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  });

  afterAll(() => {
    s3Mock.restore();
  });

  it('uploads nothing and returns null when no row was rejected', async () => {
    // Prepare
    const writer = new RejectedWriter(s3, location);
    writer.useHeader(HEADER);

    // Act
    const where = await writer.close();

    // Assess
    expect(where).toBeNull();
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('writes a BOM, the header plus error, each row padded to it, raw rows under the first column', async () => {
    // Prepare
    const writer = new RejectedWriter(s3, location);
    writer.useHeader(HEADER);

    // Act
    writer.add(['=1+2', 'e10002', 'Bob', 'Bad', 'n2'], ['student_id is bad', 'x is wrong']);
    writer.add(['Art', 'E1'], ['too few']);
    writer.add(['Art', 'E1', 'a', 'b', 'c', 'spill'], ['cut']);
    writer.addRaw('Art;E10005;Too;Many;n5;extra', 'expected 5 fields like the header, found 6');
    writer.add(['a;=cmd', 'E10006', 'Zoë, "q"\nline', 'x', ''], ['=bad']);
    const where = await writer.close();

    // Assess
    expect(where).toEqual(location);
    const input = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(input).toMatchObject({ Key: location.key, ContentType: 'text/csv; charset=utf-8' });
    const body = await uploadedBody();
    expect(body.startsWith('\uFEFFCourse,student_id,')).toBe(true);
    // A cell with another locale's separator is quoted, so it stays one cell.
    expect(body).toContain('"a;=cmd"');
    expect(parse(body, { bom: true })).toEqual([
      [...HEADER, 'error'],
      ["'=1+2", 'e10002', 'Bob', 'Bad', 'n2', 'student_id is bad; x is wrong'],
      ['Art', 'E1', '', '', '', 'too few'],
      ['Art', 'E1', 'a', 'b', 'c', 'cut'],
      [
        'Art;E10005;Too;Many;n5;extra',
        '',
        '',
        '',
        '',
        'expected 5 fields like the header, found 6',
      ],
      ['a;=cmd', 'E10006', 'Zoë, "q"\nline', 'x', '', "'=bad"],
    ]);
    expect(writer.count).toBe(5);
  });

  it('writes neither header nor BOM in a later piece of a long file', async () => {
    // Prepare
    const writer = new RejectedWriter(s3, location, false);
    writer.useHeader(HEADER);

    // Act
    writer.add(['Maths', 'bad', 'A', 'B', ''], ['student_id is bad']);
    await writer.close();

    // Assess
    expect(await uploadedBody()).toBe('Maths,bad,A,B,,student_id is bad\n');
  });

  it('streams: memory does not grow with the number of rejected rows', async () => {
    // Prepare: a multipart upload that keeps none of the bytes it is sent.
    s3Mock.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u' });
    let sent = 0;
    s3Mock.on(UploadPartCommand).callsFake((input: { Body?: { length?: number } }) => {
      sent += input.Body?.length ?? 0;
      return { ETag: '"p"' };
    });
    s3Mock.on(CompleteMultipartUploadCommand).resolves({});
    const writer = new RejectedWriter(s3, location);
    writer.useHeader(HEADER);
    const cells = ['Maths', 'bad00', 'First name', 'Last name', 'x'.repeat(200)];
    const heap = (): number => {
      globalThis.gc?.();
      return process.memoryUsage().heapUsed;
    };

    // Act: 200,000 rows, about 50 MB.
    const before = heap();
    let peak = 0;
    for (let i = 0; i < 200_000; i++) {
      const wait = writer.add(cells, ['student_id has an invalid format']);
      if (wait) await wait;
      if (i % 20_000 === 0) peak = Math.max(peak, heap() - before);
    }
    await writer.close();

    // Assess: all of it went out, and far less than it was held at once.
    expect(sent).toBeGreaterThan(45_000_000);
    expect(peak).toBeLessThan(30_000_000);
  }, 60_000);
});
