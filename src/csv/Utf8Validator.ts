import { isUtf8 } from 'node:buffer';
import { Transform, type TransformCallback } from 'node:stream';
import { FileProblem } from '../errors.ts';

// Node's TextDecoder decodes windows-1252 as Latin-1 (nodejs/node#56542), turning Excel's
// € “ ” ‘ ’ – — into control characters; 0x80–0x9F need their own table ('' = unassigned).
const WINDOWS_1252_C1 = [...'€_‚ƒ„…†‡ˆ‰Š‹Œ_Ž__‘’“”•–—˜™š›œ_žŸ'].map((c) => (c === '_' ? '' : c));

/** A field read as Latin-1 (one char per byte), with Windows-1252's own 0x80–0x9F glyphs put in. */
export function fromWindows1252(field: string): string {
  if (!/[\x80-\x9f]/.test(field)) return field;
  let out = '';
  for (const char of field) {
    const code = char.charCodeAt(0);
    out += code >= 0x80 && code <= 0x9f ? WINDOWS_1252_C1[code - 0x80] || char : char;
  }
  return out;
}

function windows1252Glyph(byte: number): string {
  return byte >= 0x80 && byte <= 0x9f
    ? (WINDOWS_1252_C1[byte - 0x80] ?? '')
    : String.fromCharCode(byte);
}

/** Length of a trailing UTF-8 sequence that the next chunk may complete, 0 when none. */
function incompleteTail(chunk: Buffer): number {
  // A sequence is at most 4 bytes, so only the last 3 can start an unfinished one.
  for (let back = 1; back <= Math.min(3, chunk.length); back++) {
    const byte = chunk[chunk.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

/** Offset of the first byte that does not start a valid UTF-8 sequence. */
function firstInvalidByte(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] ?? 0;
    const need =
      b < 0x80
        ? 1
        : b >= 0xc2 && b <= 0xdf
          ? 2
          : b >= 0xe0 && b <= 0xef
            ? 3
            : b >= 0xf0 && b <= 0xf4
              ? 4
              : 0;
    if (need === 0) return i;
    if (need > 1 && !isUtf8(bytes.subarray(i, i + need))) return i;
    i += need;
  }
  return i;
}

/**
 * Passes bytes through unchanged and rejects the file at the first byte that is not UTF-8,
 * saying where (line and byte offset) and, when the bytes look like Excel's Windows-1252 "CSV"
 * save, how to fix it. A name is never stored mangled.
 */
export class Utf8Validator extends Transform {
  private carry: Buffer | null = null;
  private offset = 0;
  private newlines = 0;
  private sawMultibyte = false;
  private fellBack = false;

  /**
   * A continuation starts mid-file: at this byte offset, on this line. With
   * `fallBackToWindows1252` (SOURCE_ENCODING=auto) a file that is not UTF-8, and had nothing but
   * ASCII before its first bad byte, is passed on whole to be read as Windows-1252 instead.
   */
  public constructor(
    startOffset = 0,
    startLine = 1,
    private readonly fallBackToWindows1252 = false,
  ) {
    super();
    this.offset = startOffset;
    this.newlines = startLine - 1;
  }

  /** True once the file turned out not to be UTF-8 and is being read as Windows-1252. */
  public get readAsWindows1252(): boolean {
    return this.fellBack;
  }

  /** True once a valid multi-byte UTF-8 sequence was seen: the file is UTF-8. */
  public get sawUtf8(): boolean {
    return this.sawMultibyte;
  }

  /** Only ASCII before `index`, and none of it UTF-8: the whole file can be Windows-1252. */
  private canFallBack(bytes: Buffer, index: number): boolean {
    if (!this.fallBackToWindows1252 || this.sawMultibyte) return false;
    for (let i = 0; i < index; i++) if ((bytes[i] ?? 0) >= 0x80) return false;
    return true;
  }

  public override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    if (this.fellBack) {
      callback(null, chunk);
      return;
    }
    let bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    // Checked while nothing has passed yet: a first chunk of one byte is carried, not passed.
    if (this.offset === 0) {
      const problem = detectUtf16(bytes);
      if (problem) {
        callback(problem);
        return;
      }
    }
    const tail = incompleteTail(bytes);
    this.carry = tail > 0 ? Buffer.from(bytes.subarray(bytes.length - tail)) : null;
    bytes = tail > 0 ? bytes.subarray(0, bytes.length - tail) : bytes;
    if (!isUtf8(bytes)) {
      const index = firstInvalidByte(bytes);
      if (this.canFallBack(bytes, index)) {
        this.fellBack = true;
        const whole = this.carry ? Buffer.concat([bytes, this.carry]) : bytes;
        this.carry = null;
        callback(null, whole);
        return;
      }
      callback(this.problemAt(bytes, index));
      return;
    }
    this.account(bytes, bytes.length);
    callback(null, bytes);
  }

  public override _flush(callback: TransformCallback): void {
    if (this.carry && this.canFallBack(this.carry, 0)) {
      this.fellBack = true;
      callback(null, this.carry);
      return;
    }
    callback(this.carry ? this.problemAt(this.carry, 0) : null);
  }

  private account(bytes: Buffer, upTo: number): void {
    if (!this.sawMultibyte) {
      for (let i = 0; i < upTo; i++) {
        if ((bytes[i] ?? 0) >= 0x80) {
          this.sawMultibyte = true;
          break;
        }
      }
    }
    let at = bytes.indexOf(10);
    while (at !== -1 && at < upTo) {
      this.newlines++;
      at = bytes.indexOf(10, at + 1);
    }
    this.offset += upTo;
  }

  private problemAt(bytes: Buffer, index: number): FileProblem {
    this.account(bytes, index);
    const byte = bytes[index] ?? 0;
    const line = this.newlines + 1;
    const hex = `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    const where = `line ${line}, byte offset ${this.offset}`;
    // Valid UTF-8 never appeared before and the byte is a Windows-1252 letter or sign: the
    // classic "CSV (Comma delimited)" save from Excel on Windows.
    if (!this.sawMultibyte && byte >= 0x80) {
      const glyph = windows1252Glyph(byte);
      const looks = glyph ? `looks like "${glyph}" in Windows-1252` : 'looks like Windows-1252';
      return new FileProblem(
        'WINDOWS_1252',
        `The file is not UTF-8: byte ${hex} at ${where} ${looks} ` +
          `(Excel's plain "CSV" format). Save it from Excel as "CSV UTF-8 (Comma delimited)" and upload it again.`,
        line,
      );
    }
    return new FileProblem(
      'INVALID_UTF8',
      `The file is not valid UTF-8: invalid byte ${hex} at ${where}. Save it as "CSV UTF-8" and upload it again.`,
      line,
    );
  }
}

function detectUtf16(bytes: Buffer): FileProblem | null {
  const b0 = bytes[0];
  const b1 = bytes[1];
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) {
    return new FileProblem(
      'INVALID_UTF8',
      'The file is UTF-16 (Excel "Unicode Text"), not UTF-8. Save it as "CSV UTF-8 (Comma delimited)" and upload it again.',
      1,
    );
  }
  return null;
}
