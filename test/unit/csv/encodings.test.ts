import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ByteSwap, bomEncoding, decodeHead } from '../../../src/csv/encodings.ts';
import { fromWindows1252 } from '../../../src/csv/Utf8Validator.ts';

describe('Function: bomEncoding', () => {
  it('names the encoding a byte order mark announces, and none without one', () => {
    // Act & Assess
    expect(bomEncoding(Buffer.from([0xef, 0xbb, 0xbf, 0x61]))).toBe('utf-8');
    expect(bomEncoding(Buffer.from([0xff, 0xfe, 0x61, 0]))).toBe('utf-16le');
    expect(bomEncoding(Buffer.from([0xfe, 0xff, 0, 0x61]))).toBe('utf-16be');
    expect(bomEncoding(Buffer.from('id,name'))).toBeNull();
  });
});

describe('Class: ByteSwap', () => {
  it('turns UTF-16 BE into LE whatever the chunk boundaries, keeping the length', async () => {
    // Prepare
    const text = 'id;name\nA1;Zoë 😀\n';
    const be = Buffer.from(text, 'utf16le').swap16();
    const chunks = [be.subarray(0, 3), be.subarray(3, 4), be.subarray(4, 11), be.subarray(11)];

    // Act
    const out: Buffer[] = [];
    for await (const chunk of Readable.from(chunks).pipe(new ByteSwap())) out.push(chunk);

    // Assess
    const le = Buffer.concat(out);
    expect(le.length).toBe(be.length);
    expect(le.toString('utf16le')).toBe(text);
    expect(decodeHead(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'utf-16be')).toBe(text);
  });
});

describe('Function: fromWindows1252', () => {
  it("puts Windows-1252's own glyphs in place of Latin-1's control characters", () => {
    // Act & Assess
    expect(
      fromWindows1252(Buffer.from([0x80, 0x20, 0x93, 0x41, 0x94, 0xe9]).toString('latin1')),
    ).toBe('€ “A”é');
    expect(fromWindows1252('plain')).toBe('plain');
  });
});
