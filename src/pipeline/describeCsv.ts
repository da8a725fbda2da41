import { encodingName } from '../csv/encodings.ts';
import type { CsvDescription, FileLayout } from '../types.ts';
import { MAX_NAMES } from '../validation/resolveHeader.ts';

/** The summary's account of how a file was read; nothing when it was the plain case. */
export function describeCsv(layout: FileLayout | null): { csv?: CsvDescription } {
  if (!layout) return {};
  const csv: CsvDescription = {};
  if (layout.delimiter !== ',') csv.separator = layout.delimiter;
  if (layout.encoding !== 'utf-8' && layout.encoding !== 'auto') {
    csv.encoding = encodingName(layout.encoding);
  }
  // Columns without a header name are Excel's leftovers while empty; one holding a value is
  // named like a column outside the schema, by its position (nothing from the data).
  const unnamed = (layout.unnamedFilled ?? []).map((i) => `column ${i + 1} (no header)`);
  const count = layout.notLoadedCount + unnamed.length;
  if (count > 0) {
    csv.columnsNotLoaded = [...layout.notLoaded, ...unnamed].slice(0, MAX_NAMES);
    csv.columnsNotLoadedCount = count;
  }
  return Object.keys(csv).length > 0 ? { csv } : {};
}
