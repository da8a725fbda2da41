import { delimiterName } from '../csv/detectDelimiter.ts';
import type { CsvDescription, IngestResult, WriteSummary } from '../types.ts';
import { escapeLine } from './escapeLine.ts';

/** SNS: a Subject is ASCII, has no line breaks and is under 100 characters. */
const SUBJECT_LIMIT = 99;

function asciiSubject(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '?');
  return ascii.slice(0, SUBJECT_LIMIT);
}

function fileName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** Below this share of throttled calls the table did not set the pace: a stray throttle is noise. */
const LIMITED_SHARE = 0.05;

/** "4 min 10 s", "12 s", "1 h 5 min": a duration as a person says it. */
export function spokenDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${Math.max(seconds, ms > 0 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min${seconds % 60 ? ` ${seconds % 60} s` : ''}`;
  return `${Math.floor(minutes / 60)} h${minutes % 60 ? ` ${minutes % 60} min` : ''}`;
}

/** The e-mail's sentence when the table's throttling set the pace of the load, else null. */
export function throttlingNote(
  writes: WriteSummary | undefined,
  durationMs: number,
): string | null {
  if (!writes || writes.calls === 0 || writes.throttled / writes.calls < LIMITED_SHARE) return null;
  const share = Math.round((100 * writes.throttled) / writes.calls);
  const rate = writes.rowsPerSecond >= 10 ? Math.round(writes.rowsPerSecond) : writes.rowsPerSecond;
  return `DynamoDB throttled ${share}% of writes; the load took ${spokenDuration(durationMs)} at about ${rate} rows/s.`;
}

/** The machine-readable summary sent to SQS, Lambda and HTTP subscribers. */
export function summaryJson(result: IngestResult): Record<string, unknown> {
  return {
    status: result.status,
    ...(result.dataset ? { dataset: result.dataset } : {}),
    source: result.source,
    destination: result.destination,
    rows: result.rows,
    ...(result.report ? { report: result.report } : {}),
    ...(result.rejected ? { rejected: result.rejected } : {}),
    ...(result.fileError ? { fileError: result.fileError } : {}),
    ...(result.csv ? { csv: result.csv } : {}),
    errors: result.errors.slice(0, 10).map(({ line, field, error }) => ({ line, field, error })),
    durationMs: result.durationMs,
    ...(result.writes ? { writes: result.writes } : {}),
  };
}

export function subjectFor(result: IngestResult): string {
  const { rows } = result;
  // Made ASCII before it is measured: NFKD turns one Hangul syllable or ligature into several.
  const name = asciiSubject(fileName(result.source.key));
  const detail =
    result.status === 'SUCCEEDED'
      ? `${rows.written} rows loaded`
      : result.status === 'PARTIAL'
        ? `${rows.written} loaded, ${rows.rejected} rejected`
        : result.status === 'SUPERSEDED'
          ? 'a newer upload replaced it'
          : 'file rejected';
  // The status and counts lead, so a long file name is what gets cut.
  const head = `[${result.status}] `;
  // A deployment of several datasets says which one: "[FAILED] term1.csv (grades): …".
  const tail = `${result.dataset ? ` (${result.dataset})` : ''}: ${detail}`;
  const room = SUBJECT_LIMIT - head.length - tail.length;
  const shortName = name.length > room ? `${name.slice(0, Math.max(room - 3, 1))}...` : name;
  return asciiSubject(`${head}${shortName}${tail}`);
}

/** How the file was read, where it was not the plain case. */
function csvLines(csv: CsvDescription): string[] {
  const lines: string[] = [];
  if (csv.separator) lines.push(`Separator: ${delimiterName(csv.separator)}`);
  if (csv.encoding) lines.push(`Encoding:  ${csv.encoding} (not UTF-8)`);
  if (csv.columnsNotLoaded && csv.columnsNotLoadedCount) {
    const more = csv.columnsNotLoadedCount - csv.columnsNotLoaded.length;
    lines.push(
      `Columns not loaded: ${csv.columnsNotLoaded.map(escapeLine).join(', ')}${more > 0 ? ` and ${more} more` : ''}`,
      '  (not in the schema: never written to the table)',
    );
  }
  return lines;
}

/** The e-mail a registrar reads: what happened, the counts, the first problems, where things went. */
export function summaryText(result: IngestResult): string {
  const { rows } = result;
  // Keys and messages carry strings from the data: escaped, so none can write its own lines.
  const s3url = (l: { bucket: string; key: string; versionId?: string | undefined }) =>
    escapeLine(`s3://${l.bucket}/${l.key}${l.versionId ? ` (version ${l.versionId})` : ''}`);
  const lines = [
    `Status: ${result.status}`,
    ...(result.dataset ? [`Dataset: ${result.dataset}`] : []),
    `File:   ${s3url(result.source)}`,
    '',
    `Rows read:      ${rows.total}`,
    `Rows loaded:    ${rows.written}`,
    `Rows rejected:  ${rows.rejected}`,
    `Duplicate keys: ${rows.duplicates}${rows.duplicates > 0 ? ' (the last row for each student and course was kept)' : ''}`,
  ];
  if (result.csv) lines.push('', ...csvLines(result.csv));
  if (result.status === 'SUPERSEDED') {
    lines.push(
      '',
      'SUPERSEDED by a newer upload of the same name: this upload was not loaded (or stopped',
      'loading) and is kept apart, so the newer rows and the archived copy stay current.',
    );
    if (rows.written > 0) lines.push(`  ${rows.written} rows were written before it stopped.`);
  }
  if (result.fileError) {
    lines.push('', 'The file was rejected:', `  ${escapeLine(result.fileError.message)}`);
    if (rows.written > 0) lines.push(`  ${rows.written} rows read before the problem were loaded.`);
  }
  if (result.errors.length > 0) {
    lines.push('', `First problems (of ${rows.rejected} rejected rows):`);
    for (const e of result.errors.slice(0, 10))
      lines.push(`  line ${e.line}: ${escapeLine(e.error)}`);
  }
  lines.push('');
  if (result.destination) lines.push(`The file is now at ${s3url(result.destination)}`);
  if (result.report) lines.push(`Every rejected row is listed in ${s3url(result.report)}`);
  if (result.rejected) {
    const count = rows.rejected === 1 ? 'the 1 row' : `the ${rows.rejected} rows`;
    lines.push(
      result.status === 'PARTIAL'
        ? `Fix ${count} in ${s3url(result.rejected)} and upload it to the inbound bucket`
        : `The rows rejected before the file stopped are in ${s3url(result.rejected)}`,
      '  (under any name; its error column is never loaded).',
    );
  }
  lines.push(`Processed in ${(result.durationMs / 1000).toFixed(1)} s.`);
  const throttling = throttlingNote(result.writes, result.durationMs);
  if (throttling) lines.push(throttling);
  return lines.join('\n');
}

/** One SNS message, one part per protocol (MessageStructure "json"). */
export function buildSummary(result: IngestResult): { subject: string; message: string } {
  const text = summaryText(result);
  const json = JSON.stringify(summaryJson(result));
  return {
    subject: subjectFor(result),
    message: JSON.stringify({
      default: text,
      email: text,
      'email-json': json,
      sqs: json,
      lambda: json,
      http: json,
      https: json,
    }),
  };
}
