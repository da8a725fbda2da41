import { describe, expect, it } from 'vitest';
import { comparableSequencer, SEQUENCER_WIDTH } from '../../../src/ledger/comparableSequencer.ts';

const order = (a: string, b: string): number => {
  const [x, y] = [comparableSequencer(a), comparableSequencer(b)];
  if (x === null || y === null) throw new Error('not comparable');
  return x < y ? -1 : x > y ? 1 : 0;
};

describe('Function: comparableSequencer', () => {
  it('orders sequencers of different lengths as AWS says: left-padded with zeros, then compared', () => {
    // As strings "FF" > "0100"; as S3's hex values the longer one is later.
    expect(order('FF', '0100')).toBe(-1);
    expect(order('0055AED6DCD90281E5', '55AED6DCD90281E6')).toBe(-1);
    expect(order('617F08299329D189', '617F08299329D189')).toBe(0);
  });

  it('ignores the case of the hex digits and leading zeros', () => {
    expect(comparableSequencer('00ab')).toBe(comparableSequencer('AB'));
    expect(comparableSequencer('0')).toBe('0'.repeat(SEQUENCER_WIDTH));
  });

  it('gives every value the same width, so a plain string comparison (DynamoDB <=) orders them', () => {
    expect(comparableSequencer('1')?.length).toBe(SEQUENCER_WIDTH);
    expect(comparableSequencer('F'.repeat(SEQUENCER_WIDTH))?.length).toBe(SEQUENCER_WIDTH);
  });

  it('returns null for what cannot be ordered: missing, not hex, or wider than any S3 sends', () => {
    expect(comparableSequencer(undefined)).toBeNull();
    expect(comparableSequencer('')).toBeNull();
    expect(comparableSequencer('12G4')).toBeNull();
    expect(comparableSequencer('1'.repeat(SEQUENCER_WIDTH + 1))).toBeNull();
  });
});
