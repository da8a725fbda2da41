/** How long and how often a failing call may be retried. */
export interface RetryBudget {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Milliseconds left in the invocation; retries stop while a margin is still left. */
  remainingTimeMs: () => number;
  /** Time kept in reserve for moving the file and publishing the summary. */
  safetyMarginMs: number;
}

export const DEFAULT_RETRY_BUDGET: RetryBudget = {
  maxAttempts: 10,
  baseDelayMs: 50,
  maxDelayMs: 5_000,
  remainingTimeMs: () => Number.POSITIVE_INFINITY,
  safetyMarginMs: 10_000,
};

/** "Full jitter" backoff: a random delay up to an exponentially growing, capped ceiling. */
export function fullJitterDelay(
  attempt: number,
  budget: RetryBudget,
  random = Math.random,
): number {
  const ceiling = Math.min(budget.maxDelayMs, budget.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/** True when the budget allows another attempt after `attemptsMade`, waiting `delayMs` first. */
export function canRetry(attemptsMade: number, delayMs: number, budget: RetryBudget): boolean {
  if (attemptsMade >= budget.maxAttempts) return false;
  return budget.remainingTimeMs() - delayMs > budget.safetyMarginMs;
}

const RETRYABLE_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'TransactionInProgressException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);

const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
]);

/** The table (or the account) asked us to slow down: a matter of pace, not of faults. */
export function isThrottling(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return typeof name === 'string' && THROTTLING_NAMES.has(name);
}

const RETRYABLE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN']);

/** Throttling, 5xx and dropped connections: worth another try. Anything else is a real fault. */
export function isTransient(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: string;
    code?: string;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  if (e.name && RETRYABLE_NAMES.has(e.name)) return true;
  if (e.code && RETRYABLE_CODES.has(e.code)) return true;
  if (e.$retryable) return true;
  const status = e.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
