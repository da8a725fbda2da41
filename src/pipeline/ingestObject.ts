import type { Config } from '../config.ts';
import { isGzipKey } from '../csv/inflate.ts';
import { BatchWriter } from '../dynamo/BatchWriter.ts';
import { KeyTracker } from '../dynamo/KeyTracker.ts';
import { addWrites, summariseWrites } from '../dynamo/writeTotals.ts';
import { FileProblem } from '../errors.ts';
import type { KeyOrder } from '../ledger/KeyOrder.ts';
import type {
  Checkpoint,
  LoadedProgress,
  Progress,
  ProgressLedger,
} from '../ledger/ProgressLedger.ts';
import { publishSummary } from '../notify/publishSummary.ts';
import { logger, recordWrites } from '../observability.ts';
import type { RetryBudget } from '../retry.ts';
import { copyObject } from '../s3/copyObject.ts';
import { deleteObject } from '../s3/deleteObject.ts';
import { openObject } from '../s3/openObject.ts';
import { ReportWriter, reportKey } from '../s3/ReportWriter.ts';
import { sourceMetadata } from '../s3/sourceMetadata.ts';
import type {
  Clients,
  IngestOutcome,
  IngestResult,
  IngestStatus,
  ObjectLocation,
  RowCounts,
  RowError,
  StoredObject,
  UploadRef,
  WriteTotals,
} from '../types.ts';
import { invokeContinuation } from './continuation.ts';
import { describeCsv } from './describeCsv.ts';
import { handOverProblem } from './handOver.ts';
import { dropKeySet, loadKeySet, saveKeySet } from './keySet.ts';
import { loadRows } from './loadRows.ts';
import { joinReport, keepFirstPiece } from './reportPieces.ts';
import { reportPieceLocation, SCRATCH_PREFIX } from './scratch.ts';
import { SUPERSEDED_PREFIX, supersede } from './supersede.ts';

export type { Clients } from '../types.ts';

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

export interface IngestOptions {
  /** Move the file to the archive/error bucket afterwards. */
  move: boolean;
  /** Publish the summary. */
  notify: boolean;
  errorPolicy: Config['errorPolicy'];
}

const ROW_ERROR_CODES = new Set<RowError['code']>(['SCHEMA', 'FIELD_COUNT']);
const SUMMARY_ERRORS = 10;

/** Decides, before any work, whether this event is one to process. */
function skipReason(upload: UploadRef, config: Config): IngestOutcome | null {
  if (!upload.key.toLowerCase().endsWith('.csv') && !isGzipKey(upload.key)) {
    return {
      kind: 'skipped',
      reason: 'NOT_CSV',
      detail: `${upload.key} is not a .csv or .csv.gz file`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.startsWith(SUPERSEDED_PREFIX)) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a superseded upload: copy it to the inbound bucket to load it`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.startsWith(SCRATCH_PREFIX)) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a long file's working data, not a file to load`,
    };
  }
  if (upload.bucket === config.errorBucket && upload.key.toLowerCase().endsWith('.errors.csv')) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.key} is a rejected-rows report`,
    };
  }
  // An S3 event from our own output buckets would be a loop. A batch job may reprocess them.
  if (
    !upload.jobId &&
    (upload.bucket === config.archiveBucket || upload.bucket === config.errorBucket)
  ) {
    return {
      kind: 'skipped',
      reason: 'OWN_OUTPUT_BUCKET',
      detail: `${upload.bucket} is this service's own output bucket: ignored to prevent a loop`,
    };
  }
  return null;
}

/** Where the file goes: null when it stays (no move asked, or it is already where it belongs). */
function destinationFor(
  upload: UploadRef,
  status: IngestStatus,
  options: IngestOptions,
  config: Config,
): ObjectLocation | null {
  // The archive is the record of what was loaded: a file reprocessed from there stays there.
  if (!options.move || upload.bucket === config.archiveBucket) return null;
  const bucket = status === 'SUCCEEDED' ? config.archiveBucket : config.errorBucket;
  // Reprocessing a file in the error bucket that fails again: copying it onto itself and then
  // deleting "the source" would delete the only copy.
  if (bucket === upload.bucket) return null;
  return { bucket, key: upload.key };
}

function firstCheckpoint(options: IngestOptions): Checkpoint {
  return {
    part: 0,
    pass: options.errorPolicy === 'strict' ? 'check' : 'write',
    offset: 0,
    line: 1,
    layout: null,
    rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
    reportCount: 0,
    reportParts: [],
    firstErrors: [],
    startedAt: Date.now(),
  };
}

/**
 * The report is written by each part that finds errors: part 0 to its final key, later parts to
 * pieces of their own upload (see scratch.ts), joined by the last part.
 */
function reportPiece(config: Config, upload: UploadRef, part: number): ObjectLocation {
  return part === 0
    ? { bucket: config.errorBucket, key: reportKey(upload.key) }
    : reportPieceLocation(config, upload, part);
}

type LoadOutcome = Progress | IngestOutcome;

/** The location with the version S3 gave the object, when the bucket is versioned. */
function withVersion(location: StoredObject, versionId: string | undefined): StoredObject {
  return versionId ? { ...location, versionId } : location;
}

/**
 * Step 1: read, validate and write the rows, and write the report, from the checkpoint on. Under
 * the strict policy the file is first read without writing. When time runs short the position
 * is saved and the rest is handed to a new invocation. Returns the LOADED progress, or why the
 * event needs no (more) work here.
 */
async function loadStep(
  upload: UploadRef,
  context: IngestContext,
  options: IngestOptions,
  resumed: Extract<Progress, { stage: 'LOADING' }> | null,
): Promise<LoadOutcome> {
  const { clients, config, ledger } = context;
  let state: Checkpoint = resumed?.checkpoint ?? firstCheckpoint(options);
  let exact: UploadRef = resumed
    ? { ...upload, versionId: resumed.versionId, eTag: resumed.eTag }
    : upload;
  let size = resumed?.size ?? 0;
  const lambda = clients.lambda;
  const canContinue = Boolean(lambda && config.functionName && ledger);
  const report = new ReportWriter(
    clients.s3,
    reportPiece(config, upload, state.part),
    SUMMARY_ERRORS,
    // The header goes into the first piece that has lines, whichever part writes it.
    state.reportParts.length === 0,
  );
  const writer = new BatchWriter(clients.writes, {
    tableName: config.tableName,
    concurrency: config.writeConcurrency,
    stallMs: config.writeStallMs,
    budget: { remainingTimeMs: context.remainingTimeMs, ...context.retryBudget },
    // A later part starts at the pace the earlier one learned instead of finding it again.
    rate: { initialRate: state.writes?.rate },
  });
  let seen = await loadKeySet(clients, config, upload, state.part);
  // A newer upload of this name that starts meanwhile stops this one at its next batch boundary.
  const overtaken = context.keyOrder?.watch(upload) ?? (() => false);
  const supersededBy = async (rows: RowCounts): Promise<LoadedProgress> => {
    const written = state.pass === 'check' ? { ...rows, written: 0 } : rows;
    const done = await finishLoading(upload, context, options, {
      state,
      report,
      rows: written,
      fileError: null,
      exact,
      size,
    });
    const move = done.result.destination !== null;
    const result = supersede(upload, config, {
      loaded: done.result,
      startedAt: state.startedAt,
      move,
    });
    return { ...done, result };
  };

  for (;;) {
    // A gzip stream cannot be entered mid-way: a continuation reads it whole and skips.
    const gzip = isGzipKey(upload.key);
    const opened = await openObject(clients.s3, exact, gzip ? 0 : state.offset);
    if (opened.kind === 'missing') {
      // A continuation of an object that is gone cannot happen (the source is deleted last), so
      // this is a redelivered event for an upload already finished and moved.
      return { kind: 'skipped', reason: opened.reason, detail: opened.detail };
    }
    exact = {
      ...exact,
      versionId: exact.versionId ?? opened.versionId,
      eTag: exact.eTag ?? opened.eTag,
    };
    size = opened.size;
    report.metadata = sourceMetadata(exact);
    if (context.keyOrder && !(await context.keyOrder.claim(upload))) {
      opened.body.destroy();
      return supersededBy(state.rows);
    }
    const partStartedAt = Date.now();
    const loaded = await loadRows(opened.body, {
      writer: state.pass === 'write' ? writer : null,
      seen,
      report,
      maxErrorRate: config.maxErrorRate,
      unknownColumns: config.unknownColumns,
      sourceEncoding: config.sourceEncoding,
      gzip,
      resume: state.offset > 0 ? { ...state } : undefined,
      // Out of time: stop while the margin is still whole after the writes queued now have
      // drained at the table's pace. Twice the drain: the reader looks at the clock between two
      // waits for the writer, and against a throttled table one wait can last as long as a drain.
      shouldStop: () =>
        overtaken() ||
        (canContinue &&
          context.remainingTimeMs() < config.continuationMarginMs + 2 * writer.drainMs()),
      progressIntervalMs: config.progressIntervalMs,
      onProgress: (progress) =>
        logger.info('Progress', {
          part: state.part,
          pass: state.pass,
          ...progress,
          rowsWritten: writer.stats.itemsWritten,
          ...writer.sample(),
        }),
    });
    const writes = addWrites(state.writes, writer);
    recordWrites(writer.stats, Date.now() - partStartedAt);

    if (loaded.stoppedAt && overtaken()) return supersededBy(loaded.rows);
    if (loaded.stoppedAt && lambda && config.functionName && ledger) {
      const problem = handOverProblem(state, loaded.stoppedAt, config.maxParts);
      if (problem) {
        const rows = state.pass === 'check' ? { ...loaded.rows, written: 0 } : loaded.rows;
        const ended = { state, report, rows, fileError: problem, exact, size };
        return finishLoading(upload, context, options, ended);
      }
      // Out of time: save where we are, then hand the rest on. The report piece is closed first,
      // so a crash before the checkpoint is saved just redoes this part.
      const wrote = (await report.close()) !== null;
      if (wrote && state.part === 0) {
        const first = withVersion(report.location, report.versionId);
        await keepFirstPiece(clients, config, upload, first);
      }
      const next: Checkpoint = {
        ...state,
        part: state.part + 1,
        offset: loaded.stoppedAt.offset,
        line: loaded.stoppedAt.line,
        layout: loaded.layout,
        rows: loaded.rows,
        reportCount: state.reportCount + report.count,
        reportParts: wrote ? [...state.reportParts, state.part] : state.reportParts,
        firstErrors: [...state.firstErrors, ...report.first].slice(0, SUMMARY_ERRORS),
        writes,
      };
      await saveKeySet(clients, config, upload, next.part, seen);
      await ledger.save(upload, {
        stage: 'LOADING',
        checkpoint: next,
        versionId: exact.versionId,
        eTag: exact.eTag,
        size,
      });
      await dropKeySet(clients, config, upload, state.part);
      await invokeContinuation(lambda, config.functionName, {
        source: 's3-csv-ingest.continuation',
        upload,
        part: next.part,
        options,
      });
      return { kind: 'continued', part: next.part, offset: next.offset, rows: next.rows };
    }

    if (state.pass === 'check' && !loaded.fileError && loaded.rows.rejected === 0) {
      // Every row is valid: now read the file again, writing.
      state = {
        ...state,
        pass: 'write',
        offset: 0,
        line: 1,
        layout: null,
        rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
      };
      seen = new KeyTracker();
      continue;
    }
    let fileError = loaded.fileError;
    let rows = loaded.rows;
    if (state.pass === 'check' && !fileError) {
      rows = { ...rows, written: 0 };
      fileError = new FileProblem(
        'STRICT_POLICY_VIOLATION',
        `${rows.rejected} of ${rows.total} rows are invalid and ERROR_POLICY is strict: nothing was loaded.`,
      );
    } else if (state.pass === 'check') {
      rows = { ...rows, written: 0 };
    }
    state = { ...state, layout: loaded.layout };
    return finishLoading(upload, context, options, {
      state,
      report,
      rows,
      fileError,
      exact,
      size,
      writes,
    });
  }
}

/** Closes the report (joining the pieces of a long file) and computes the outcome. */
async function finishLoading(
  upload: UploadRef,
  context: IngestContext,
  options: IngestOptions,
  done: {
    state: Checkpoint;
    report: ReportWriter;
    rows: IngestResult['rows'];
    fileError: FileProblem | null;
    exact: UploadRef;
    size: number;
    writes?: WriteTotals | undefined;
  },
): Promise<LoadedProgress> {
  const { clients, config, ledger } = context;
  const { state, report, rows, fileError } = done;
  const errors = [...state.firstErrors, ...report.first]
    .filter((e) => ROW_ERROR_CODES.has(e.code))
    .slice(0, SUMMARY_ERRORS);
  if (fileError) {
    const wait = report.add({
      line: fileError.line ?? 0,
      field: '',
      value: fileError.value,
      error: fileError.message,
      code: fileError.code,
    });
    if (wait) await wait;
  }
  const lastPiece = await report.close();
  // No undefined fields: the outcome is stored as it is by Powertools' idempotency layer.
  let reportLocation: StoredObject | null = lastPiece && withVersion(lastPiece, report.versionId);
  if (state.part > 0) {
    const pieces = state.reportParts.map((part) => reportPieceLocation(config, upload, part));
    if (lastPiece) pieces.push(lastPiece);
    if (pieces.length > 0) {
      reportLocation = await joinReport(clients, config, ledger, upload, pieces, report.metadata);
    }
  }

  const status: IngestStatus = fileError ? 'FAILED' : rows.rejected > 0 ? 'PARTIAL' : 'SUCCEEDED';
  const result: IngestResult = {
    status,
    source: {
      ...withVersion({ bucket: upload.bucket, key: upload.key }, done.exact.versionId),
      ...(upload.sequencer ? { sequencer: upload.sequencer } : {}),
    },
    destination: destinationFor(upload, status, options, config),
    report: reportLocation,
    rows,
    errors,
    fileError: fileError ? { code: fileError.code, message: fileError.message } : null,
    ...describeCsv(state.layout),
    durationMs: Date.now() - state.startedAt,
  };
  const writes = summariseWrites(done.writes, rows.written, result.durationMs);
  if (writes) result.writes = writes;
  return {
    stage: 'LOADED',
    result,
    versionId: done.exact.versionId,
    eTag: done.exact.eTag,
    size: done.size,
  };
}

/**
 * The one place that knows the order of the steps: load rows (validate, write, report; over
 * several invocations for a long file) → copy and verify → delete the source → publish the
 * summary. With a ledger each finished step is recorded, and a retry resumes at the first step
 * not done. Bad data never throws; infrastructure failures do, and Lambda's retry picks up
 * where this attempt stopped.
 */
export async function ingestObject(
  upload: UploadRef,
  context: IngestContext,
): Promise<IngestOutcome> {
  const { clients, config, ledger } = context;
  const options: IngestOptions = {
    move: true,
    notify: true,
    errorPolicy: config.errorPolicy,
    ...context.options,
  };
  const skip = skipReason(upload, config);
  if (skip) return skip;

  const progress = ledger ? await ledger.get(upload) : null;
  let step: LoadedProgress;
  if (!progress || progress.stage === 'LOADING') {
    const loaded = await loadStep(upload, context, options, progress);
    if (!('stage' in loaded)) return loaded;
    step = loaded as LoadedProgress;
    await ledger?.save(upload, step);
    if (progress) await dropKeySet(clients, config, upload, progress.checkpoint.part);
  } else {
    step = progress;
    // Every step was done before: a late redelivery, after Powertools forgot it.
    if (step.stage === 'PUBLISHED')
      return { kind: 'processed', result: step.result, replayed: true };
  }
  // Loaded, but a newer upload of the name started meanwhile: it must not become the current copy.
  if (
    step.stage === 'LOADED' &&
    step.result.status !== 'SUPERSEDED' &&
    (await context.keyOrder?.isSuperseded(upload))
  ) {
    const { result: loaded } = step;
    const move = loaded.destination !== null;
    const startedAt = Date.now() - loaded.durationMs;
    step = { ...step, result: supersede(upload, config, { loaded, startedAt, move }) };
  }
  const advance = async (stage: 'COPIED' | 'DELETED' | 'PUBLISHED'): Promise<void> => {
    step = { ...step, stage };
    await ledger?.save(upload, step);
  };
  const { result } = step;
  const exact: UploadRef = { ...upload, versionId: step.versionId, eTag: step.eTag };

  if (step.stage === 'LOADED') {
    if (result.destination) {
      const versionId = await copyObject(
        clients.s3,
        exact,
        step.size,
        result.destination,
        config.multipartCopyThresholdBytes,
        sourceMetadata(exact),
      );
      result.destination = withVersion(result.destination, versionId);
    }
    await advance('COPIED');
  }
  if (step.stage === 'COPIED') {
    if (result.destination) await deleteObject(clients.s3, exact);
    if (
      result.status === 'SUCCEEDED' &&
      result.destination &&
      upload.bucket === config.errorBucket
    ) {
      // A file fixed and reprocessed out of the error bucket leaves no stale report behind.
      await deleteObject(clients.s3, { bucket: config.errorBucket, key: reportKey(upload.key) });
    }
    await advance('DELETED');
  }
  if (step.stage === 'DELETED') {
    if (options.notify) await publishSummary(clients.sns, config.topicArn, result);
    await advance('PUBLISHED');
  }
  return { kind: 'processed', result };
}
