import { encodingName } from '../csv/encodings.ts';
import type { CsvDescription, FileLayout } from '../types.ts';

/** The summary's account of how a file was read; nothing when it was the plain case. */
export function describeCsv(layout: FileLayout | null): { csv?: CsvDescription } {
  if (!layout) return {};
  const csv: CsvDescription = {};
  if (layout.delimiter !== ',') csv.separator = layout.delimiter;
  if (layout.encoding !== 'utf-8' && layout.encoding !== 'auto') {
    csv.encoding = encodingName(layout.encoding);
  }
  if (layout.notLoadedCount > 0) {
    csv.columnsNotLoaded = layout.notLoaded;
    csv.columnsNotLoadedCount = layout.notLoadedCount;
  }
  return Object.keys(csv).length > 0 ? { csv } : {};
}
