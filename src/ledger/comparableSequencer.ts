/** Wide enough for any sequencer S3 sends (they are 16–20 hex digits today). */
export const SEQUENCER_WIDTH = 64;

/**
 * S3's per-key event order as a string that compares correctly as a string: AWS documents that
 * sequencers may differ in length and are compared after left-padding the shorter with zeros.
 * Upper-cased and padded to one fixed width, so DynamoDB's string `<=` orders them too. Null for
 * anything that is not a hex string of at most that width (then the event cannot be ordered).
 */
export function comparableSequencer(sequencer: string | undefined): string | null {
  if (!sequencer || !/^[0-9a-f]+$/i.test(sequencer)) return null;
  const digits = sequencer.toUpperCase().replace(/^0+(?=.)/, '');
  return digits.length > SEQUENCER_WIDTH ? null : digits.padStart(SEQUENCER_WIDTH, '0');
}
