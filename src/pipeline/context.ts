import type { Config } from '../config.ts';
import type { RoutedDataset } from '../datasets.ts';
import type { KeyOrder } from '../ledger/KeyOrder.ts';
import type { ProgressLedger } from '../ledger/ProgressLedger.ts';
import type { RetryBudget } from '../retry.ts';
import type { Clients } from '../types.ts';

/** What the pipeline is handed for one upload: clients, settings, the clock and the ledgers. */
export interface IngestContext {
  clients: Clients;
  config: Config;
  /** Milliseconds left in this invocation (Lambda's getRemainingTimeInMillis). */
  remainingTimeMs: () => number;
  /** Remembers how far each upload got, so a retry resumes instead of redoing. */
  ledger?: ProgressLedger;
  /** The newest upload per name: an older one that arrives late is superseded, not loaded. */
  keyOrder?: KeyOrder;
  /** Per-call overrides, e.g. from S3 Batch Operations' userArguments. */
  options?: Partial<IngestOptions>;
  retryBudget?: Partial<RetryBudget>;
}

/** The context once the upload's key has picked its dataset (schema and table). */
export interface DatasetContext extends IngestContext {
  dataset: RoutedDataset;
}

export interface IngestOptions {
  /** Move the file to the archive/error bucket afterwards. */
  move: boolean;
  /** Publish the summary. */
  notify: boolean;
  errorPolicy: Config['errorPolicy'];
}
