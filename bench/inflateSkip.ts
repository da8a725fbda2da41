/**
 * What a continuation of a `.csv.gz` pays before it reads its first row: inflating (and dropping)
 * every decompressed byte before its offset. Usage: `npx tsx bench/inflateSkip.ts [MiB]`.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { inflate } from '../src/csv/inflate.ts';

const mib = Number(process.argv[2] ?? 256);
const rows: string[] = ['student_id,first_name,last_name,course'];
let size = 0;
for (let i = 0; size < mib * 1024 ** 2; i++) {
  const row = `${String.fromCharCode(65 + (i % 26))}${String(i % 100_000).padStart(5, '0')},First${i},Last${i},Course ${i % 40}`;
  rows.push(row);
  size += row.length + 1;
}
const csv = Buffer.from(`${rows.join('\n')}\n`);
const gz = gzipSync(csv);

async function drain(offset: number): Promise<number> {
  const started = process.hrtime.bigint();
  // 1 MiB chunks, as an S3 body stream delivers them (in smaller pieces, which costs the same).
  const chunks = Array.from({ length: Math.ceil(gz.length / 2 ** 20) }, (_, i) =>
    gz.subarray(i * 2 ** 20, (i + 1) * 2 ** 20),
  );
  let kept = 0;
  for await (const chunk of inflate(Readable.from(chunks), offset))
    kept += (chunk as Buffer).length;
  if (kept !== csv.length - offset)
    throw new Error(`kept ${kept}, expected ${csv.length - offset}`);
  return Number(process.hrtime.bigint() - started) / 1e6;
}

await drain(csv.length); // warm-up
const runs = [await drain(csv.length), await drain(csv.length), await drain(csv.length)].sort(
  (a, b) => a - b,
);
const ms = runs[1] ?? 0;
console.log(
  JSON.stringify({
    decompressedMiB: +(csv.length / 1024 ** 2).toFixed(1),
    compressedMiB: +(gz.length / 1024 ** 2).toFixed(1),
    skipAllMs: Math.round(ms),
    msPer100MiB: Math.round((ms * 100 * 1024 ** 2) / csv.length),
    mibPerSecond: Math.round(csv.length / 1024 ** 2 / (ms / 1000)),
  }),
);
