import { FileProblem } from '../errors.ts';
import type { Checkpoint } from '../ledger/ProgressLedger.ts';
import type { ReadPosition } from './loadRows.ts';

/**
 * A long file's own guard against a loop of invocations (Lambda's recursive loop detection is
 * set to Allow, so it is not one): a part that would hand on work it did not advance, or a file
 * that needs more than `maxParts` invocations, ends as a file problem instead of invoking again.
 */
export function handOverProblem(
  state: Pick<Checkpoint, 'part' | 'offset'>,
  stoppedAt: ReadPosition,
  maxParts: number,
): FileProblem | null {
  if (stoppedAt.offset <= state.offset) {
    return new FileProblem(
      'NO_PROGRESS',
      `Part ${state.part} stopped at byte ${stoppedAt.offset} without reading past byte ${state.offset}, where it started: handing the same work on again would loop, so the file stops here.`,
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
