let last = 0n;

/**
 * A sequencer as S3 puts in its events: hex, growing with every event of this process, so a
 * later upload of a name orders after an earlier one as it does on S3 (s3rver and moto send none).
 */
export function nextSequencer(): string {
  const now = BigInt(Date.now()) * 1_000_000n;
  last = now > last ? now : last + 1n;
  return last.toString(16).toUpperCase().padStart(18, '0');
}
