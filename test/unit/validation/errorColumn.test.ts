import { describe, expect, it } from 'vitest';
import { fitsLayout, resolveHeader } from '../../../src/validation/resolveHeader.ts';

/** Issue 18: a rejected-rows file sent back carries a last `error` column, never loaded. */
describe('Function: resolveHeader, the error column of a rejected-rows file', () => {
  it.each([['error'], ['Error'], [' ERROR ']])(
    'knows a last header cell %j: not mapped, not named as not loaded',
    (cell) => {
      // Act
      const layout = resolveHeader([
        'course',
        'student_id',
        'first_name',
        'last_name',
        'notes',
        cell,
      ]);

      // Assess
      expect(layout).toMatchObject({
        kind: 'header',
        sentBack: true,
        mapping: [1, 2, 3, 0],
        width: 6,
        notLoaded: ['notes'],
        notLoadedCount: 1,
      });
    },
  );

  it('is no unknown column under UNKNOWN_COLUMNS=reject', () => {
    // Act
    const layout = resolveHeader(['student_id', 'first_name', 'last_name', 'course', 'error'], 1, {
      unknownColumns: 'reject',
    });

    // Assess
    expect(layout).toMatchObject({ sentBack: true, notLoadedCount: 0 });
  });

  it('lets a row leave the error cell out', () => {
    // Prepare
    const layout = resolveHeader(['student_id', 'first_name', 'last_name', 'course', 'error']);

    // Act & Assess
    expect(fitsLayout(['E10001', 'A', 'B', 'C'], layout)).toBe(true);
    expect(fitsLayout(['E10001', 'A', 'B', 'C', 'old reason'], layout)).toBe(true);
    expect(fitsLayout(['E10001', 'A', 'B'], layout)).toBe(false);
  });

  it('is only the last cell: an error column elsewhere is an ordinary column outside the schema', () => {
    // Act
    const layout = resolveHeader(['error', 'student_id', 'first_name', 'last_name', 'course']);

    // Assess
    expect(layout.sentBack).toBeUndefined();
    expect(layout.notLoaded).toEqual(['error']);
  });
});
