import { describe, expect, it } from 'vitest';
import { escapeLine } from '../../../src/notify/escapeLine.ts';

describe('Function: escapeLine', () => {
  it.each([
    ['a\nb', 'a\\nb'],
    ['a\r\nb', 'a\\r\\nb'],
    ['a\tb', 'a\\tb'],
    ['bell\u0007', 'bell\\u0007'],
    ['del\u007f', 'del\\u007f'],
    ['c1\u0085', 'c1\\u0085'],
    ['line\u2028separator\u2029', 'line\\u2028separator\\u2029'],
    ['bidi\u202eevil', 'bidi\\u202eevil'],
  ])('shows %j as a visible escape', (text, expected) => {
    // Act & Assess
    expect(escapeLine(text)).toBe(expected);
  });

  it.each(['roster.csv', 'fall 2024/José Núñez+co 📚.csv', 'a\\nb', '한국어'])(
    'leaves %j as it is',
    (text) => {
      // Act & Assess
      expect(escapeLine(text)).toBe(text);
    },
  );
});
