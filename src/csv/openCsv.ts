import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CsvParser, createCsvParser, MAX_RECORD_SIZE } from './createCsvParser.ts';
import { peekHead } from './peekHead.ts';
import { Utf8Validator } from './Utf8Validator.ts';

/** How a file is written, decided once from its start and kept for its continuations. */
export interface Dialect {
  delimiter: string;
}

export interface OpenCsvOptions {
  /** Where the bytes of `body` start in the file, and on which line. */
  start: { offset: number; line: number };
  /** Known already (a continuation): no need to look at the start of the file. */
  dialect: Dialect | null;
  /** Decides the separator from the start of the file, decoded; throws a FileProblem if none fits. */
  detectDelimiter: (head: string) => string;
}

export interface OpenedCsv {
  /** The records, as RawRows. */
  parser: CsvParser;
  /** Settles when every byte went through (or with the first stream error). */
  flowing: Promise<void>;
  dialect: Dialect;
}

/**
 * Builds the reading chain for one file: the separator is decided from the first line (read
 * ahead and replayed, never lost) unless a continuation already knows it, then the bytes go
 * through the encoding check into csv-parse.
 */
export async function openCsv(body: Readable, options: OpenCsvOptions): Promise<OpenedCsv> {
  const { start } = options;
  let source = body;
  let dialect = options.dialect;
  if (!dialect) {
    const peeked = await peekHead(body, MAX_RECORD_SIZE);
    source = peeked.stream;
    try {
      const head = peeked.head.toString('utf8').replace(/^\ufeff/, '');
      dialect = { delimiter: options.detectDelimiter(head) };
    } catch (error) {
      source.destroy();
      throw error;
    }
  }
  const parser = createCsvParser({
    startOffset: start.offset,
    startLine: start.line,
    delimiter: dialect.delimiter,
  });
  const flowing = pipeline(source, new Utf8Validator(start.offset, start.line), parser);
  return { parser, flowing, dialect };
}
