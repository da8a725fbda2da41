import { describe, expect, it } from 'vitest';
import { clipValue, MAX_VALUE_CHARS, quoteNames } from '../../src/bounds.ts';

describe('Function: clipValue', () => {
  it('leaves a value of ordinary length as it is', () => {
    // Act & Assess
    expect(clipValue('Ada Lovelace')).toBe('Ada Lovelace');
    expect(clipValue('x'.repeat(MAX_VALUE_CHARS))).toBe('x'.repeat(MAX_VALUE_CHARS));
  });

  it('cuts a long value to at most MAX_VALUE_CHARS, with a marker that says how long it was', () => {
    // Act
    const clipped = clipValue('x'.repeat(61_440));

    // Assess
    expect(clipped.length).toBeLessThanOrEqual(MAX_VALUE_CHARS);
    expect(clipped).toMatch(/^x+… \[cut: 61440 characters\]$/);
  });

  it('is stable: a clipped value is not cut again', () => {
    // Prepare
    const once = clipValue('y'.repeat(5_000));

    // Act & Assess
    expect(clipValue(once)).toBe(once);
  });

  it('never cuts a character in half', () => {
    // Act
    const clipped = clipValue('😀'.repeat(2_000));

    // Assess
    expect(clipped).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
    expect(clipped.startsWith('😀'.repeat(100))).toBe(true);
  });
});

describe('Function: quoteNames', () => {
  it('quotes names as JSON strings, so quotes and line breaks are visible escapes', () => {
    // Act & Assess
    expect(quoteNames(['cours', 'a"b', 'x\ny'])).toBe('"cours", "a\\"b", "x\\ny"');
  });

  it('lists at most 10 names of at most 64 characters, and says how many more there are', () => {
    // Act
    const listed = quoteNames([
      'z'.repeat(1_000),
      ...Array.from({ length: 5_999 }, (_, i) => `c${i}`),
    ]);

    // Assess
    expect(listed).toMatch(/^"z{63}…", "c0", .*"c8" and 5990 more$/);
    expect(listed.length).toBeLessThan(200);
  });
});
