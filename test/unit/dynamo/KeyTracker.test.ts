import { describe, expect, it } from 'vitest';
import { KeyTracker } from '../../../src/dynamo/KeyTracker.ts';

describe('Class: KeyTracker', () => {
  it('returns false for a new key and true when it comes again', () => {
    // Prepare
    const tracker = new KeyTracker();

    // Act & Assess
    expect(tracker.add('A10001\u0000Maths')).toBe(false);
    expect(tracker.add('A10001\u0000Physics')).toBe(false);
    expect(tracker.add('A10001\u0000Maths')).toBe(true);
    expect(tracker.size).toBe(2);
  });

  it('tells keys apart that differ only in where the separator falls', () => {
    // Prepare
    const tracker = new KeyTracker();

    // Act & Assess
    expect(tracker.add('A1\u0000BC')).toBe(false);
    expect(tracker.add('A1B\u0000C')).toBe(false);
    expect(tracker.add('')).toBe(false);
    expect(tracker.add('')).toBe(true);
  });

  it('still finds every duplicate after the table has grown many times', () => {
    // Prepare: start tiny so the table grows from 16 slots to thousands
    const tracker = new KeyTracker(1);
    const keys = Array.from({ length: 5_000 }, (_, i) => `S${i}\u0000Course ${i % 7}`);

    // Act
    const first = keys.map((key) => tracker.add(key));
    const second = keys.map((key) => tracker.add(key));

    // Assess
    expect(first.every((seen) => seen === false)).toBe(true);
    expect(second.every((seen) => seen === true)).toBe(true);
    expect(tracker.size).toBe(5_000);
  });

  it('reports no false duplicate among 200,000 distinct keys shaped like real ones', () => {
    // Prepare
    const tracker = new KeyTracker();
    let falseDuplicates = 0;

    // Act
    for (let i = 0; i < 200_000; i++) {
      const id = `${String.fromCharCode(65 + (i % 26))}${String(i % 100_000).padStart(5, '0')}`;
      if (tracker.add(`${id}\u0000Course ${Math.floor(i / 100_000)}`)) falseDuplicates++;
    }

    // Assess
    expect(falseDuplicates).toBe(0);
    expect(tracker.size).toBe(200_000);
  });

  it('hands its set on through toBuffer/fromBuffer: 8 bytes a key, the same answers after', () => {
    // Prepare
    const first = new KeyTracker();
    for (let i = 0; i < 5_000; i++) first.add(`S${i}\u0000Course ${i % 7}`);

    // Act
    const bytes = first.toBuffer();
    const next = KeyTracker.fromBuffer(bytes);

    // Assess
    expect(bytes.length).toBe(5_000 * 8);
    expect(next.size).toBe(5_000);
    expect(next.add('S42\u0000Course 0')).toBe(true);
    expect(next.add('S5000\u0000Course 2')).toBe(false);
  });
});
