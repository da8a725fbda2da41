import { isGzipKey } from '../csv/inflate.ts';
import { BatchWriter } from '../dynamo/BatchWriter.ts';
import { KeyTracker } from '../dynamo/KeyTracker.ts';
import { addWrites } from '../dynamo/writeTotals.ts';
import { FileProblem } from '../errors.ts';
import type { Checkpoint, LoadedProgress, Progress } from '../ledger/ProgressLedger.ts';
import { logger, recordWrites } from '../observability.ts';
import { openObject } from '../s3/openObject.ts';
import { RejectedWriter, rejectedKey } from '../s3/RejectedWriter.ts';
import { ReportWriter, reportKey } from '../s3/ReportWriter.ts';
import { sourceMetadata } from '../s3/sourceMetadata.ts';
import type { IngestOutcome, ObjectLocation, RowCounts, UploadRef } from '../types.ts';
import type { DatasetContext, IngestContext, IngestOptions } from './context.ts';
import { finishLoad, SUMMARY_ERRORS } from './finishLoad.ts';
import { continuationTarget, handOver, handOverProblem } from './handOver.ts';
import { loadKeySet } from './keySet.ts';
import { loadRows } from './loadRows.ts';
import { rejectedPieceLocation, reportPieceLocation } from './scratch.ts';
import { supersede } from './supersede.ts';

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
function reportPiece(
  config: DatasetContext['config'],
  upload: UploadRef,
  part: number,
): ObjectLocation {
  return part === 0
    ? { bucket: config.errorBucket, key: reportKey(upload.key) }
    : reportPieceLocation(config, upload, part);
}

/** The rejected-rows file, like the report: part 0 writes the final key, later parts pieces. */
function rejectedPiece(
  config: IngestContext['config'],
  upload: UploadRef,
  part: number,
): ObjectLocation {
  return part === 0
    ? { bucket: config.errorBucket, key: rejectedKey(upload.key) }
    : rejectedPieceLocation(config, upload, part);
}

/** The check pass found no invalid row: the same part reads the file again, writing. */
function writePass(state: Checkpoint): Checkpoint {
  return {
    ...state,
    pass: 'write',
    offset: 0,
    line: 1,
    replayThrough: undefined,
    layout: null,
    rows: { total: 0, written: 0, rejected: 0, duplicates: 0 },
  };
}

/** Under the strict policy the check pass writes nothing, and any invalid row fails the file. */
function checkPassEnd(
  rows: RowCounts,
  fileError: FileProblem | null,
): { rows: RowCounts; fileError: FileProblem | null } {
  if (fileError) return { rows: { ...rows, written: 0 }, fileError };
  return {
    rows: { ...rows, written: 0 },
    fileError: new FileProblem(
      'STRICT_POLICY_VIOLATION',
      `${rows.rejected} of ${rows.total} rows are invalid and ERROR_POLICY is strict: nothing was loaded.`,
    ),
  };
}

/**
 * Step 1, one invocation's part of it: open the object at the checkpoint, read, validate and
 * write the rows and the report, and then either finish the load (LOADED), or — when time runs
 * short — save where the part stopped and hand the rest to a new invocation. Under the strict
 * policy the file is first read without writing. Returns the LOADED progress, or why the event
 * needs no (more) work here.
 */
export async function loadParts(
  upload: UploadRef,
  context: DatasetContext,
  options: IngestOptions,
  resumed: Extract<Progress, { stage: 'LOADING' }> | null,
): Promise<LoadedProgress | IngestOutcome> {
  const { clients, config, dataset } = context;
  let state: Checkpoint = resumed?.checkpoint ?? firstCheckpoint(options);
  let exact: UploadRef = resumed
    ? { ...upload, versionId: resumed.versionId, eTag: resumed.eTag }
    : upload;
  let size = resumed?.size ?? 0;
  const canContinue = continuationTarget(context) !== null;
  const report = new ReportWriter(
    clients.s3,
    reportPiece(config, upload, state.part),
    SUMMARY_ERRORS,
    // The header goes into the first piece that has lines, whichever part writes it.
    state.reportParts.length === 0,
  );
  const rejected = new RejectedWriter(
    clients.s3,
    rejectedPiece(config, upload, state.part),
    (state.rejectedParts ?? []).length === 0,
  );
  const writer = new BatchWriter(clients.writes, {
    tableName: dataset.table,
    concurrency: config.writeConcurrency,
    stallMs: config.writeStallMs,
    budget: { remainingTimeMs: context.remainingTimeMs, ...context.retryBudget },
    cutWhenOutOfTime: canContinue,
    // A later part starts at the pace the earlier one learned instead of finding it again.
    rate: { initialRate: state.writes?.rate },
  });
  let seen = await loadKeySet(clients, config, upload, state.part);
  // A newer upload of this name that starts meanwhile stops this one at its next batch boundary.
  const overtaken = context.keyOrder?.watch(upload) ?? (() => false);
  const supersededBy = async (rows: RowCounts): Promise<LoadedProgress> => {
    const written = state.pass === 'check' ? { ...rows, written: 0 } : rows;
    const end = { state, report, rejected, rows: written, fileError: null, exact, size };
    const done = await finishLoad(upload, context, options, end);
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
    rejected.metadata = report.metadata;
    // Overtaken before this part began: the rows put again after a hand-over are counted as
    // written already, so they are put before the part stops.
    const replayEnd = state.pass === 'write' ? (state.replayThrough?.offset ?? -1) : -1;
    const lostClaim = Boolean(context.keyOrder) && !(await context.keyOrder?.claim(upload));
    if (lostClaim && replayEnd <= state.offset) {
      opened.body.destroy();
      return supersededBy(state.rows);
    }
    const partStartedAt = Date.now();
    const loaded = await loadRows(opened.body, {
      dataset: dataset.dataset,
      writer: state.pass === 'write' ? writer : null,
      seen,
      report,
      // Under the strict policy nothing loads when a row is invalid: no rows to send back alone.
      rejected: state.pass === 'write' ? rejected : undefined,
      maxErrorRate: config.maxErrorRate,
      unknownColumns: config.unknownColumns,
      sourceEncoding: config.sourceEncoding,
      gzip,
      // A headerless file's watermark can be its first byte: a replay resumes there too.
      resume: state.offset > 0 || state.replayThrough ? { ...state } : undefined,
      // Out of time: stop reading with the margin left after the writes queued now would drain
      // at the table's pace. An estimate that is wrong costs only rows put again by the next
      // part: the hand-over commits at what the table acknowledged (see the writer's settle).
      keepWrites: canContinue,
      shouldStop: (at) =>
        (lostClaim ? at >= replayEnd : overtaken()) ||
        writer.isCut ||
        (canContinue && context.remainingTimeMs() < config.continuationMarginMs + writer.drainMs()),
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
    const writing = state.pass === 'write';
    if (lostClaim || (loaded.stoppedAt && overtaken())) {
      if (writing) await writer.flush();
      return supersededBy(loaded.rows);
    }
    // A part that may hand over lets its writes drain until its own margin, then commits at the
    // low watermark of what the table acknowledged, never failing for lack of time: also when it
    // read to the end and the last writes had not drained.
    const handing = loaded.stoppedAt ?? (loaded.fileError ? null : loaded.readTo);
    const watermark = handing && canContinue && writing ? await writer.settle() : null;
    const stoppedAt = loaded.stoppedAt ?? (watermark ? handing : null);
    const writes = addWrites(state.writes, writer);
    recordWrites(writer.stats, Date.now() - partStartedAt);

    if (stoppedAt && canContinue) {
      const resumeAt = watermark ?? stoppedAt;
      const problem = handOverProblem(state, stoppedAt, config.maxParts, resumeAt);
      if (!problem) {
        const handed = { ...loaded, stoppedAt };
        const end = {
          ...{ state, loaded: handed, resumeAt, report, rejected },
          ...{ seen, writes, exact, size },
        };
        return handOver(upload, context, options, end);
      }
      const rows = state.pass === 'check' ? { ...loaded.rows, written: 0 } : loaded.rows;
      const end = { state, report, rejected, rows, fileError: problem, exact, size };
      return finishLoad(upload, context, options, end);
    }

    if (state.pass === 'check' && !loaded.fileError && loaded.rows.rejected === 0) {
      state = writePass(state);
      seen = new KeyTracker();
      continue;
    }
    const { rows, fileError } =
      state.pass === 'check' ? checkPassEnd(loaded.rows, loaded.fileError) : loaded;
    state = { ...state, layout: loaded.layout };
    return finishLoad(upload, context, options, {
      state,
      report,
      rejected,
      rows,
      fileError,
      exact,
      size,
      writes,
    });
  }
}
