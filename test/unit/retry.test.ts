import { describe, expect, it } from 'vitest';
import {
  canRetry,
  DEFAULT_RETRY_BUDGET,
  fullJitterDelay,
  isTransient,
  type RetryBudget,
} from '../../src/retry.ts';

const budget = (overrides: Partial<RetryBudget> = {}): RetryBudget => ({
  ...DEFAULT_RETRY_BUDGET,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  ...overrides,
});

describe('Function: fullJitterDelay', () => {
  it('stays at or above 0 and below the exponential ceiling base * 2^attempt', () => {
    for (let attempt = 0; attempt < 6; attempt++) {
      const ceiling = 50 * 2 ** attempt;

      // Act
      const lowest = fullJitterDelay(attempt, budget(), () => 0);
      const highest = fullJitterDelay(attempt, budget(), () => 0.999_999);

      // Assess
      expect(lowest).toBe(0);
      expect(highest).toBe(ceiling - 1);
    }
  });

  it('never exceeds maxDelayMs however many attempts were made', () => {
    // Act & Assess
    expect(fullJitterDelay(7, budget(), () => 0.999_999)).toBe(4_999);
    expect(fullJitterDelay(60, budget(), () => 0.999_999)).toBe(4_999);
    expect(fullJitterDelay(60, budget(), () => 0.5)).toBe(2_500);
  });

  it('spreads delays over the whole range with the real random source', () => {
    // Act
    const delays = Array.from({ length: 2_000 }, () => fullJitterDelay(3, budget()));

    // Assess
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(400);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });
});

describe('Function: canRetry', () => {
  it('allows attempts up to maxAttempts', () => {
    // Prepare
    const b = budget({ maxAttempts: 3 });

    // Act & Assess
    expect(canRetry(1, 0, b)).toBe(true);
    expect(canRetry(2, 0, b)).toBe(true);
    expect(canRetry(3, 0, b)).toBe(false);
  });

  it('stops when the wait would eat into the safety margin of the remaining time', () => {
    // Prepare
    const b = budget({ remainingTimeMs: () => 12_000, safetyMarginMs: 10_000 });

    // Act & Assess
    expect(canRetry(1, 1_999, b)).toBe(true);
    expect(canRetry(1, 2_000, b)).toBe(false);
    expect(canRetry(1, 0, budget({ remainingTimeMs: () => 9_000, safetyMarginMs: 10_000 }))).toBe(
      false,
    );
  });
});

describe('Function: isTransient', () => {
  const sdkError = (name: string, status?: number) =>
    Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('retries throttling, 5xx, 429 and dropped connections', () => {
    // Act & Assess
    expect(isTransient(sdkError('ProvisionedThroughputExceededException', 400))).toBe(true);
    expect(isTransient(sdkError('ThrottlingException', 400))).toBe(true);
    expect(isTransient(sdkError('SlowDown', 503))).toBe(true);
    expect(isTransient(sdkError('TooManyRequests', 429))).toBe(true);
    expect(isTransient(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient({ $retryable: { throttling: true } })).toBe(true);
  });

  it('does not retry client errors or things that are not errors', () => {
    // Act & Assess
    expect(isTransient(sdkError('ValidationException', 400))).toBe(false);
    expect(isTransient(sdkError('ResourceNotFoundException', 400))).toBe(false);
    expect(isTransient(sdkError('AccessDenied', 403))).toBe(false);
    expect(isTransient(new Error('plain'))).toBe(false);
    expect(isTransient(null)).toBe(false);
    expect(isTransient('ProvisionedThroughputExceededException')).toBe(false);
  });
});
