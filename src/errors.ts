/**
 * Stable, machine-readable codes for everything that can go wrong with a file. File problems end
 * the file (error bucket + summary); they are data, not exceptions that make Lambda retry.
 */
export type FileErrorCode =
  | 'EMPTY_FILE'
  | 'NO_DATA_ROWS'
  | 'INVALID_HEADER'
  | 'INVALID_UTF8'
  | 'WINDOWS_1252'
  | 'MALFORMED_CSV'
  | 'INVALID_GZIP'
  | 'RECORD_TOO_LARGE'
  | 'TOO_MANY_COLUMNS'
  | 'ERROR_RATE_EXCEEDED'
  | 'STRICT_POLICY_VIOLATION'
  | 'TOO_MANY_PARTS'
  | 'NO_PROGRESS';

/** Codes attached to a single rejected row. */
export type RowErrorCode = 'SCHEMA' | 'FIELD_COUNT';

/** Base class of this package's errors, so callers can tell ours from the SDK's. */
export class IngestError extends Error {
  public constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IngestError';
  }
}

/** A missing or invalid setting, raised at cold start so a bad deployment fails loudly and early. */
export class ConfigError extends IngestError {
  public constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/**
 * A problem with the file itself. Thrown inside the reading stage and caught by the pipeline,
 * which turns it into a FAILED outcome: never escapes to Lambda.
 */
export class FileProblem extends IngestError {
  public readonly code: FileErrorCode;
  public readonly line: number | undefined;
  /** What the rejected-rows report shows for it (e.g. the first row); never in the message. */
  public readonly value: string;

  public constructor(
    code: FileErrorCode,
    message: string,
    line?: number,
    options?: ErrorOptions & { value?: string },
  ) {
    super(message, options);
    this.name = 'FileProblem';
    this.code = code;
    this.line = line;
    this.value = options?.value ?? '';
  }
}

/**
 * An infrastructure failure (throttling past the retry budget, S3/SNS/DynamoDB errors). Thrown
 * with the original as `cause` so Lambda retries and the idempotency ledger makes that safe.
 */
export class InfrastructureError extends IngestError {
  /** True when a later attempt is likely to succeed (throttling, 5xx, timeouts). */
  public readonly transient: boolean;

  public constructor(message: string, options: ErrorOptions & { transient?: boolean } = {}) {
    super(message, options);
    this.name = 'InfrastructureError';
    this.transient = options.transient ?? true;
  }
}
