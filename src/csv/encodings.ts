import { Transform, type TransformCallback } from 'node:stream';
import type { FileLayout } from '../types.ts';

/** SOURCE_ENCODING: what a file without a BOM is read as. */
export type SourceEncoding = 'utf-8' | 'windows-1252' | 'auto';
export const SOURCE_ENCODINGS: readonly SourceEncoding[] = ['utf-8', 'windows-1252', 'auto'];

/** How one file is read, decided at its start and kept for its continuations. */
export type FileEncoding = FileLayout['encoding'];

/** The encoding a byte order mark announces, or null when the bytes start without one. */
export function bomEncoding(head: Buffer): FileEncoding | null {
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8';
  if (head[0] === 0xff && head[1] === 0xfe) return 'utf-16le';
  if (head[0] === 0xfe && head[1] === 0xff) return 'utf-16be';
  return null;
}

/** How the summary names an encoding that is not UTF-8. */
export function encodingName(encoding: FileEncoding): string {
  switch (encoding) {
    case 'utf-16le':
      return 'UTF-16 LE';
    case 'utf-16be':
      return 'UTF-16 BE';
    case 'windows-1252':
      return 'Windows-1252';
    default:
      return 'UTF-8';
  }
}

/** The start of a file as text, enough to find its separator (never stored). */
export function decodeHead(head: Buffer, encoding: FileEncoding): string {
  let text: string;
  if (encoding === 'utf-16le') text = head.toString('utf16le');
  else if (encoding === 'utf-16be') text = swapPairs(head).toString('utf16le');
  else if (encoding === 'windows-1252') text = head.toString('latin1');
  else text = head.toString('utf8');
  return text.replace(/^\ufeff/, '');
}

function swapPairs(bytes: Buffer): Buffer {
  const even = bytes.subarray(0, bytes.length - (bytes.length % 2));
  return Buffer.from(even).swap16();
}

/**
 * UTF-16 BE → LE by swapping each byte pair, so csv-parse (which knows LE) reads it. The length
 * never changes, so every offset csv-parse counts is still the source's byte offset.
 */
export class ByteSwap extends Transform {
  private odd: Buffer | null = null;

  public override _transform(chunk: Buffer, _: BufferEncoding, callback: TransformCallback): void {
    const bytes = this.odd ? Buffer.concat([this.odd, chunk]) : chunk;
    const even = bytes.length - (bytes.length % 2);
    this.odd = even < bytes.length ? Buffer.from(bytes.subarray(even)) : null;
    callback(null, Buffer.from(bytes.subarray(0, even)).swap16());
  }

  public override _flush(callback: TransformCallback): void {
    // A dangling last byte is no character: it is dropped, as a UTF-16 decoder would.
    callback(null);
  }
}
