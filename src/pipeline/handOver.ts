import type { LambdaClient } from '@aws-sdk/client-lambda';
import type { KeyTracker } from '../dynamo/KeyTracker.ts';
import { FileProblem } from '../errors.ts';
import type { Checkpoint, ProgressLedger } from '../ledger/ProgressLedger.ts';
import type { RejectedWriter } from '../s3/RejectedWriter.ts';
import type { ReportWriter } from '../s3/ReportWriter.ts';
import { withVersion } from '../s3/withVersion.ts';
import type { IngestOutcome, UploadRef } from '../types.ts';
import type { IngestContext, IngestOptions } from './context.ts';
import { CONTINUATION_SOURCE, invokeContinuation } from './continuation.ts';
import { SUMMARY_ERRORS } from './finishLoad.ts';
import { dropKeySet, saveKeySet } from './keySet.ts';
import type { LoadRowsResult, ReadPosition } from './loadRows.ts';
import { keepFirstPiece } from './reportPieces.ts';

/**
 * A long file's own guard against a loop of invocations (Lambda's recursive loop detection is
 * set to Allow, so it is not one): a part that would hand on work it did not advance, or a file
 * that needs more than `maxParts` invocations, ends as a file problem instead of invoking again.
 */
export function handOverProblem(
  state: Pick<Checkpoint, 'part' | 'offset' | 'replayThrough'>,
  stoppedAt: ReadPosition,
  maxParts: number,
  /** Where the next part would start (the writes' low watermark); `stoppedAt` by default. */
  resumeAt: ReadPosition = stoppedAt,
): FileProblem | null {
  // Progress is a row read for the first time, or a write acknowledged that was not before.
  const readBefore = Math.max(state.offset, state.replayThrough?.offset ?? 0);
  if (stoppedAt.offset <= readBefore && resumeAt.offset <= state.offset) {
    return new FileProblem(
      'NO_PROGRESS',
      `Part ${state.part} stopped at byte ${stoppedAt.offset} without reading past byte ${readBefore}, where it started: handing the same work on again would loop, so the file stops here.`,
      stoppedAt.line,
    );
  }
  if (state.part + 1 >= maxParts) {
    return new FileProblem(
      'TOO_MANY_PARTS',
      `The file needs more than MAX_PARTS (${maxParts}) invocations: stopped before line ${stoppedAt.line}. Split the file, or raise MAX_PARTS.`,
      stoppedAt.line,
    );
  }
  return null;
}

/** What a part that stopped early hands to the next one. */
export interface PartEnd {
  state: Checkpoint;
  loaded: LoadRowsResult & { stoppedAt: ReadPosition };
  /** Where the next part starts reading: the low watermark of this part's writes. */
  resumeAt: ReadPosition;
  report: ReportWriter;
  rejected: RejectedWriter;
  seen: KeyTracker;
  writes: Checkpoint['writes'];
  exact: UploadRef;
  size: number;
}

/** A part can hand over only with somewhere to save its checkpoint and a function to invoke. */
export function continuationTarget(
  context: IngestContext,
): { lambda: LambdaClient; functionName: string; ledger: ProgressLedger } | null {
  const { lambda } = context.clients;
  const { functionName } = context.config;
  const { ledger } = context;
  return lambda && functionName && ledger ? { lambda, functionName, ledger } : null;
}

/**
 * Saves where this part stopped and hands the rest of the file to a new invocation. Each step is
 * safe to repeat: the report piece is closed first and the checkpoint saved before the key set
 * of this part is dropped, so a crash in between just redoes this part.
 */
export async function handOver(
  upload: UploadRef,
  context: IngestContext,
  options: IngestOptions,
  end: PartEnd,
): Promise<IngestOutcome> {
  const target = continuationTarget(context);
  if (!target) throw new Error('handOver needs a ledger, a Lambda client and FUNCTION_NAME');
  const { clients, config } = context;
  const { state, loaded, report, seen, resumeAt } = end;
  // Counts, report and key set are as of the furthest row read; the next part puts again the
  // rows from the watermark up to there, and counts only what follows.
  const previous = state.replayThrough;
  const readThrough =
    previous && previous.offset > loaded.stoppedAt.offset ? previous : loaded.stoppedAt;
  const wrote = (await report.close()) !== null;
  if (wrote && state.part === 0) {
    const first = withVersion(report.location, report.versionId);
    await keepFirstPiece(clients, config, upload, first);
  }
  const { rejected } = end;
  const wroteRejected = (await rejected.close()) !== null;
  if (wroteRejected && state.part === 0) {
    const first = withVersion(rejected.location, rejected.versionId);
    await keepFirstPiece(clients, config, upload, first, 'rejected');
  }
  const rejectedParts = state.rejectedParts ?? [];
  const next: Checkpoint = {
    ...state,
    part: state.part + 1,
    offset: resumeAt.offset,
    line: resumeAt.line,
    replayThrough: readThrough.offset > resumeAt.offset ? readThrough : undefined,
    layout: loaded.layout,
    rows: loaded.rows,
    reportCount: state.reportCount + report.count,
    reportParts: wrote ? [...state.reportParts, state.part] : state.reportParts,
    rejectedParts: wroteRejected ? [...rejectedParts, state.part] : rejectedParts,
    rejectedCount: (state.rejectedCount ?? 0) + rejected.count,
    firstErrors: [...state.firstErrors, ...report.first].slice(0, SUMMARY_ERRORS),
    writes: end.writes,
  };
  await saveKeySet(clients, config, upload, next.part, seen);
  await target.ledger.save(upload, {
    stage: 'LOADING',
    checkpoint: next,
    versionId: end.exact.versionId,
    eTag: end.exact.eTag,
    size: end.size,
  });
  await dropKeySet(clients, config, upload, state.part);
  await invokeContinuation(target.lambda, target.functionName, {
    source: CONTINUATION_SOURCE,
    upload,
    part: next.part,
    options,
  });
  return { kind: 'continued', part: next.part, offset: next.offset, rows: next.rows };
}
