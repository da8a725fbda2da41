import { Readable } from 'node:stream';

/** The start of a stream, and a stream that still yields every byte, the start included. */
export interface PeekedStream {
  head: Buffer;
  stream: Readable;
}

/**
 * Reads chunks until one holds a line break (so the first line is complete) or `limit` bytes were
 * read, without losing them: the returned stream replays them, then the rest. Destroying it
 * destroys the source.
 */
export async function peekHead(source: Readable, limit: number): Promise<PeekedStream> {
  const iterator = source[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size < limit) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
    if (next.value.includes(10)) break;
  }
  const head = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    try {
      if (head.length > 0) yield head;
      if (ended) return;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        yield next.value;
      }
    } finally {
      await iterator.return?.();
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}
