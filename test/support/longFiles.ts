import type { Context } from 'aws-lambda';
import type { LambdaStandIn } from '../../src/local/LambdaStandIn.ts';
import { lambdaContext } from '../../src/local/lambdaContext.ts';
import { type ContinuationEvent, isContinuationEvent } from '../../src/pipeline/continuation.ts';

/**
 * Time "left" once a rowBudget has run out: less than CONTINUATION_MARGIN_MS (60 s), so the
 * pipeline stops at its next look, and more than middy's and the writer's own margins, so a part
 * that is slow on a loaded machine still finishes its hand-over. (middy reads the clock after the
 * handler's first synchronous steps, which read it too: with 1 s left it aborted slow parts.)
 */
const OUT_OF_TIME_MS = 30_000;

/**
 * A Lambda context whose clock runs out after `checks` looks at it: the pipeline looks every 256
 * rows, so each invocation handles a fixed number of rows, the same on every machine.
 */
export function rowBudget(checks: number): Context {
  const context = lambdaContext();
  let calls = 0;
  return {
    ...context,
    getRemainingTimeInMillis: () => (calls++ < checks ? 900_000 : OUT_OF_TIME_MS),
  };
}

/**
 * `rows` data rows in schema order; every `badEvery`-th row has an invalid student_id that names
 * the file (`bad-<tag>-<n>`), so a report line tells which upload it came from.
 */
export function taggedCsv(rows: number, tag: string, badEvery = 500): string {
  const lines = ['student_id,first_name,last_name,course'];
  for (let i = 0; i < rows; i++) {
    const id = i % badEvery === badEvery - 1 ? `bad-${tag}-${i}` : `T${String(i).padStart(5, '0')}`;
    lines.push(`${id},First${i},Last${i},${tag} course`);
  }
  return `${lines.join('\n')}\n`;
}

/** The continuation events a stand-in received from `from` on, oldest first. */
export function continuationsSince(lambda: LambdaStandIn, from: number): ContinuationEvent[] {
  return lambda.invocations.slice(from).map((invocation) => {
    const event: unknown = JSON.parse(invocation.payload);
    if (!isContinuationEvent(event)) throw new Error('unexpected invocation');
    return event;
  });
}
