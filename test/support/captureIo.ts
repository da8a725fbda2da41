import { Writable } from 'node:stream';

/** Streams for a CLI's `io` argument: what it writes to `out` is kept, `err` is dropped. */
export function captureIo(): { io: { out: Writable; err: Writable }; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const err = new Writable({ write: (_chunk, _encoding, done) => done() });
  return { io: { out, err }, text: () => chunks.join('') };
}
