import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvParser, createCsvParser, MAX_RECORD_SIZE } from './createCsvParser.ts';
import {
  ByteSwap,
  bomEncoding,
  decodeHead,
  type FileEncoding,
  type SourceEncoding,
} from './encodings.ts';
import { inflate } from './inflate.ts';
import { peekHead } from './peekHead.ts';
import { fromWindows1252, Utf8Validator } from './Utf8Validator.ts';

/** How a file is written, decided once from its start and kept for its continuations. */
export interface Dialect {
  delimiter: string;
  encoding: FileEncoding;
}

export interface OpenCsvOptions {
  /** Where the bytes of `body` start in the file, and on which line. */
  start: { offset: number; line: number };
  /** Known already (a continuation): no need to look at the start of the file. */
  dialect: Dialect | null;
  /** What a file without a byte order mark is read as. */
  sourceEncoding: SourceEncoding;
  /** The object is gzip (`.csv.gz`): `body` is the whole object, offsets count decompressed bytes. */
  gzip?: boolean | undefined;
  /** Decides the separator from the start of the file, decoded; throws a FileProblem if none fits. */
  detectDelimiter: (head: string) => string;
}

export interface OpenedCsv {
  /** The records, as RawRows. */
  parser: CsvParser;
  /** Settles when every byte went through (or with the first stream error). */
  flowing: Promise<void>;
  dialect: Dialect;
  /** The encoding as far as the bytes read so far tell (`auto` may have become a verdict). */
  encodingNow: () => FileEncoding;
}

const fromUtf8Bytes = (field: string): string =>
  /[\x80-\xff]/.test(field) ? Buffer.from(field, 'latin1').toString('utf8') : field;

/**
 * Builds the reading chain for one file. The encoding (a byte order mark wins over
 * SOURCE_ENCODING) and the separator are decided from its start, read ahead and replayed, unless
 * a continuation already knows them. Every chain keeps csv-parse counting the source's own bytes
 * (UTF-16 is parsed as such, Windows-1252 as Latin-1 and fixed up per field), so the offsets a
 * continuation resumes at are byte offsets of the object.
 */
export async function openCsv(body: Readable, options: OpenCsvOptions): Promise<OpenedCsv> {
  const { start } = options;
  let source = options.gzip ? inflate(body, start.offset) : body;
  let dialect = options.dialect;
  if (!dialect) {
    const peeked = await peekHead(source, MAX_RECORD_SIZE);
    source = peeked.stream;
    try {
      const encoding = bomEncoding(peeked.head) ?? options.sourceEncoding;
      // A first line longer than a record may be is csv-parse's to reject (RECORD_TOO_LARGE).
      const endless = peeked.head.length >= MAX_RECORD_SIZE && !peeked.head.includes(10);
      const delimiter = endless
        ? ','
        : options.detectDelimiter(
            decodeHead(peeked.head, encoding === 'auto' ? 'utf-8' : encoding),
          );
      dialect = { delimiter, encoding };
    } catch (error) {
      source.destroy();
      throw error;
    }
  }
  const { delimiter, encoding } = dialect;
  const parserAt = { startOffset: start.offset, startLine: start.line, delimiter };
  let parser: CsvParser;
  let stages: Transform[] = [];
  let encodingNow = (): FileEncoding => encoding;
  if (encoding === 'utf-16le' || encoding === 'utf-16be') {
    parser = createCsvParser({ ...parserAt, encoding: 'utf16le' });
    if (encoding === 'utf-16be') stages = [new ByteSwap()];
  } else if (encoding === 'windows-1252') {
    parser = createCsvParser({ ...parserAt, encoding: 'latin1', recode: fromWindows1252 });
  } else if (encoding === 'auto') {
    // Read byte for byte; each field is then UTF-8 unless the check fell back to Windows-1252
    // (it only does when nothing but ASCII came before, so no earlier field is read otherwise).
    const check = new Utf8Validator(start.offset, start.line, true);
    const recode = (field: string) =>
      check.readAsWindows1252 ? fromWindows1252(field) : fromUtf8Bytes(field);
    parser = createCsvParser({ ...parserAt, encoding: 'latin1', recode });
    stages = [check];
    encodingNow = () =>
      check.readAsWindows1252 ? 'windows-1252' : check.sawUtf8 ? 'utf-8' : 'auto';
  } else {
    parser = createCsvParser(parserAt);
    stages = [new Utf8Validator(start.offset, start.line)];
  }
  const flowing = pipeline([source, ...stages, parser]);
  return { parser, flowing, dialect, encodingNow };
}
