import type { CsvDescription, FileLayout } from '../types.ts';

/** The summary's account of how a file was read; nothing when it was the plain case. */
export function describeCsv(layout: FileLayout | null): { csv?: CsvDescription } {
  if (!layout || layout.notLoadedCount === 0) return {};
  return {
    csv: { columnsNotLoaded: layout.notLoaded, columnsNotLoadedCount: layout.notLoadedCount },
  };
}
